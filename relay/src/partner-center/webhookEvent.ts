import { z } from 'zod';
import { RequestError } from '../errors.ts';

/**
 * The body Partner Center POSTs to the webhook (contract §3.3). It carries no referral data, no
 * eTag and no event id: the relay dedupes on (EventName, referral id, ResourceChangeUtcDate) and
 * always GETs the referral. Keys are PascalCase on the wire.
 */
export interface WebhookEvent {
  eventName: string;
  resourceUri?: string;
  resourceName?: string;
  auditUri?: string;
  resourceChangeUtcDate: string;
  /** Last path segment of ResourceUri; present only when ResourceUri is a URL with a path. */
  referralId?: string;
}

export const HANDLED_EVENTS = [
  'referral-created',
  'referral-updated',
  'related-referral-created',
  'related-referral-updated',
] as const;

export type HandledEventName = (typeof HANDLED_EVENTS)[number];

export function isHandledEvent(name: string): name is HandledEventName {
  return (HANDLED_EVENTS as readonly string[]).includes(name);
}

// `null` appears in real payloads (e.g. "AuditUri": null) and means the same as absent.
const optionalText = z.string().nullish();

const payloadSchema = z.object({
  EventName: z.string().min(1),
  ResourceUri: optionalText,
  ResourceName: optionalText,
  AuditUri: optionalText,
  // Partner Center sends 7 fractional digits and an offset ("2018-02-17T00:05:39.5485487+00:00").
  ResourceChangeUtcDate: z
    .string()
    .refine(
      (value) => /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value)),
      'must be an ISO 8601 date-time',
    ),
});

/**
 * The referral id from `ResourceUri`. The URI's host and path form are not the documented referrals
 * endpoint (contract §1.1), so only its last segment is trusted, never the URI itself.
 */
function referralIdOf(resourceUri: string): string | undefined {
  let path: string;
  try {
    path = new URL(resourceUri).pathname;
  } catch {
    return undefined;
  }
  const last = path.split('/').filter(Boolean).at(-1);
  if (last === undefined) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    throw new RequestError(
      'REQUEST_INVALID',
      400,
      'ResourceUri: the referral id is not validly percent-encoded',
    );
  }
}

export function parseWebhookEvent(rawBody: Buffer): WebhookEvent {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch (error) {
    throw new RequestError('REQUEST_INVALID', 400, 'The webhook body is not valid JSON', error);
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
    const reason =
      issue.path.length > 0 && issue.code === 'invalid_type' && issue.input === undefined
        ? 'is required'
        : issue.message;
    throw new RequestError('REQUEST_INVALID', 400, `Invalid webhook event: ${field} ${reason}`, parsed.error);
  }
  const payload = parsed.data;
  const event: WebhookEvent = {
    eventName: payload.EventName,
    resourceChangeUtcDate: payload.ResourceChangeUtcDate,
  };
  if (payload.ResourceUri) {
    event.resourceUri = payload.ResourceUri;
    const referralId = referralIdOf(payload.ResourceUri);
    if (referralId !== undefined) event.referralId = referralId;
  }
  if (payload.ResourceName) event.resourceName = payload.ResourceName;
  if (payload.AuditUri) event.auditUri = payload.AuditUri;
  return event;
}
