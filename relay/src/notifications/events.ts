/**
 * Which referral states are worth telling people about. Pure: a referral in, a notification kind
 * (or a deadline) out.
 */
import type { Referral } from '../sync/referral.ts';

/** Partner Center archives an unanswered incoming referral as Expired this long after its creation. */
export const ANSWER_WINDOW_MS = 14 * 24 * 3600 * 1000;

/** An incoming referral from Microsoft still waiting for the partner's answer (New/Pending or New/Received). */
export function awaitsAnswer(referral: Referral): boolean {
  return (
    referral.direction === 'Incoming' &&
    referral.status === 'New' &&
    (referral.substatus === 'Pending' || referral.substatus === 'Received')
  );
}

/** When an unanswered incoming referral expires, or null when it is not waiting or has no creation date. */
export function answerDeadline(referral: Referral): Date | null {
  if (!awaitsAnswer(referral) || typeof referral.createdDateTime !== 'string') return null;
  const created = Date.parse(referral.createdDateTime);
  return Number.isFinite(created) ? new Date(created + ANSWER_WINDOW_MS) : null;
}

/** True for the co-sell referral a partner shares with Microsoft (its target is Microsoft's location). */
export function isForMicrosoft(referral: Referral): boolean {
  // Real captures carry a single object where the documentation shows an array.
  const target: unknown = referral.target;
  const targets = (Array.isArray(target) ? target : target ? [target] : []) as Array<{
    type?: unknown;
    id?: unknown;
  } | null>;
  return targets.some((t) => t?.type === 'BusinessProfileLocation' && t.id === 'msft');
}

/** Microsoft's answer to a co-sell referral the partner shared with it, once it has answered. */
export function microsoftAnswer(referral: Referral): 'referral-accepted' | 'referral-declined' | null {
  if (!isForMicrosoft(referral)) return null;
  if (referral.status === 'Active') return 'referral-accepted';
  if (referral.status === 'Closed' && referral.substatus === 'Declined') return 'referral-declined';
  return null;
}
