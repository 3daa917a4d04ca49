/**
 * Notifications leave through the queue: one job per receiver, so a receiver that is down is
 * retried on the queue's backoff without posting twice to the others, and nothing is lost when the
 * relay restarts. Kinds about one referral (its arrival, Microsoft's answer, its approaching
 * expiry) are claimed once per referral in PostgreSQL, so retries and other instances add none.
 */
import type pg from 'pg';
import type { Task } from 'graphile-worker';
import type { Logger } from '../logger.ts';
import { recordAudit } from '../store/audit.ts';
import { claimNotification } from '../store/notifications.ts';
import { enqueueMany, TASKS } from '../store/queue.ts';
import type { Notification } from './messages.ts';
import { NOTIFICATION_KINDS } from './messages.ts';
import type { Notifier } from './notifier.ts';

export interface NotificationOutbox {
  /**
   * Queues `notification` for every receiver of its kind. With `once`, only the first call for
   * that kind and subject (say a referral id) queues anything. Never throws: a notification is
   * not worth failing a sync over; a failure to queue is logged.
   */
  notify(notification: Notification, options?: { once?: string }): Promise<void>;
}

export function createNotificationOutbox(options: {
  pool: pg.Pool;
  notifier: Notifier;
  maxAttempts: number;
  logger: Logger;
}): NotificationOutbox {
  const logger = options.logger.child({ module: 'notifications' });
  return {
    async notify(notification, { once } = {}) {
      const targets = options.notifier.targetsFor(notification.kind);
      if (targets.length === 0) return;
      try {
        if (once !== undefined && !(await claimNotification(options.pool, notification.kind, once))) return;
        await enqueueMany(
          options.pool,
          targets.map((target) => ({
            task: TASKS.notificationSend,
            payload: { target: target.name, notification },
            // Keyed, so a job retried after its enqueue committed cannot queue the same post twice.
            jobKey: `notify:${notification.kind}:${target.name}:${once ?? `${notification.at}:${notification.referralId ?? notification.dealId ?? ''}`}`,
            maxAttempts: options.maxAttempts,
          })),
        );
      } catch (error) {
        logger.error({ kind: notification.kind, err: (error as Error).message }, 'notification not queued');
      }
    },
  };
}

/**
 * graphile-worker task: posts one notification to one receiver. A retryable failure throws, so the
 * queue retries it with backoff; a permanent one (a 4xx: a revoked webhook URL) is logged and
 * audited once and the job ends.
 */
export function notificationSendTask(deps: { pool: pg.Pool; notifier: Notifier; logger: Logger }): Task {
  const logger = deps.logger.child({ module: 'notifications' });
  return async (payload) => {
    const p = payload as { target?: unknown; notification?: Partial<Notification> } | null;
    const kind = p?.notification?.kind;
    if (typeof p?.target !== 'string' || !NOTIFICATION_KINDS.includes(kind as Notification['kind'])) {
      logger.error({ payload }, 'notification job without a target or kind; dropped');
      return;
    }
    const notification = p.notification as Notification;
    const target = deps.notifier.targetsFor(notification.kind).find((t) => t.name === p.target);
    // The receiver was removed from NOTIFICATIONS (or stopped listening to this kind) since.
    if (!target) return;
    const result = await deps.notifier.deliver(target, notification);
    if (result.ok) return;
    if (result.retryable) throw new Error(`${target.name}: ${result.error ?? 'not delivered'}`);
    await recordAudit(deps.pool, {
      direction: 'system',
      level: 'ERROR',
      referralId: notification.referralId ?? null,
      opportunityId: notification.dealId ?? null,
      message: `Notification ${notification.kind} refused by ${target.name} (${result.error ?? 'refused'}); not retried`,
    }).catch(() => undefined);
    logger.warn(
      { target: target.name, kind: notification.kind, status: result.status },
      'notification refused for good',
    );
  };
}
