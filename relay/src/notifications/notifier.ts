import { z } from 'zod';
import type { Logger } from '../logger.ts';
import { NOTIFICATION_FORMATS, NOTIFICATION_KINDS, messageFor } from './messages.ts';
import type { Notification, NotificationFormat, NotificationKind } from './messages.ts';

/**
 * Where notifications go: a list of receivers, each an incoming-webhook URL, its format and the
 * kinds it wants. Given as JSON (the NOTIFICATIONS setting), e.g.
 *   [{"url":"https://hooks.slack.com/services/…","format":"slack","events":["referral-received","sync-error"]}]
 * A webhook URL is a credential (whoever has it can post), so it is never logged: a receiver is
 * named by its `name`, or by its host.
 */
export interface NotificationTarget {
  name: string;
  url: string;
  format: NotificationFormat;
  events: ReadonlySet<NotificationKind>;
}

const targetSchema = z.object({
  name: z.string().min(1).optional(),
  url: z.url({ protocol: /^https?$/ }),
  format: z.enum(NOTIFICATION_FORMATS),
  events: z.array(z.enum(NOTIFICATION_KINDS)).min(1),
});

/** Parses the NOTIFICATIONS setting; an error names the receiver and field at fault, never the URL's secret part. */
export function parseNotificationTargets(json: string | undefined): NotificationTarget[] {
  if (!json?.trim()) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('NOTIFICATIONS: not valid JSON (expected a list of {url, format, events})');
  }
  const parsed = z.array(targetSchema).safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const where = issue.path.length ? issue.path.join('.') : '(top level)';
      const expected =
        issue.path.at(-1) === 'format'
          ? `one of ${NOTIFICATION_FORMATS.join(', ')}`
          : issue.path.includes('events')
            ? `kinds among ${NOTIFICATION_KINDS.join(', ')}`
            : issue.path.at(-1) === 'url'
              ? 'an http(s) URL'
              : issue.message;
      return `NOTIFICATIONS[${where}]: expected ${expected}`;
    });
    throw new Error(problems.join('; '));
  }
  return parsed.data.map((t) => ({
    name: t.name ?? new URL(t.url).host,
    url: t.url,
    format: t.format,
    events: new Set(t.events),
  }));
}

export interface DeliveryResult {
  target: string;
  ok: boolean;
  status?: number;
  /** Whether another attempt can succeed (network errors, 408, 429, 5xx); a 4xx is permanent. */
  retryable: boolean;
  error?: string;
  retryAfterMs?: number;
}

export interface Notifier {
  /** The receivers subscribed to `kind`. */
  targetsFor(kind: NotificationKind): NotificationTarget[];
  /** Posts to one receiver; never throws. */
  deliver(target: NotificationTarget, notification: Notification): Promise<DeliveryResult>;
  /** Posts to every receiver subscribed to the notification's kind. */
  send(notification: Notification): Promise<DeliveryResult[]>;
}

export function createNotifier(options: {
  targets: NotificationTarget[];
  logger: Logger;
  timeoutMs?: number;
  fetch?: typeof fetch;
}): Notifier {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const logger = options.logger.child({ module: 'notifications' });
  const targetsFor = (kind: NotificationKind) => options.targets.filter((t) => t.events.has(kind));

  async function deliver(target: NotificationTarget, notification: Notification): Promise<DeliveryResult> {
    const base = { target: target.name };
    try {
      const response = await doFetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(messageFor(notification, target.format)),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { ...base, ok: true, status: response.status, retryable: false };
      const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
      const retryAfter = Number(response.headers.get('retry-after'));
      const result: DeliveryResult = {
        ...base,
        ok: false,
        status: response.status,
        retryable,
        error: `HTTP ${response.status}`,
        ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      };
      logger.warn(
        { target: target.name, kind: notification.kind, status: response.status },
        'notification refused',
      );
      return result;
    } catch (error) {
      const message =
        (error as Error).name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : (error as Error).message;
      logger.warn(
        { target: target.name, kind: notification.kind, error: message },
        'notification not delivered',
      );
      return { ...base, ok: false, retryable: true, error: message };
    }
  }

  return {
    targetsFor,
    deliver,
    send: (notification) => Promise.all(targetsFor(notification.kind).map((t) => deliver(t, notification))),
  };
}
