/**
 * What the sync jobs tell people (notifications/): a new referral from Microsoft waiting for an
 * answer, Microsoft's answer to a co-sell referral, a record the relay gave up on. Each is queued
 * through the outbox; the per-referral kinds only once per referral.
 */
import { describeError, isRelayError } from '../errors.ts';
import { odataEquals } from '../partner-center/referralsClient.ts';
import { awaitsAnswer, answerDeadline, microsoftAnswer } from '../notifications/events.ts';
import type { Notification } from '../notifications/messages.ts';
import { findLinkByReferral } from '../store/links.ts';
import { referralLinkOf } from '../sync/index.ts';
import type { Referral } from '../sync/referral.ts';
import type { SyncContext } from './syncContext.ts';

type NoticeContext = Pick<SyncContext, 'notifications' | 'mapping' | 'now' | 'dealUrl' | 'pool'>;

function links(ctx: NoticeContext, referralId: string | undefined, dealId: string | null | undefined) {
  const dealUrl = dealId ? ctx.dealUrl?.(dealId) : null;
  return {
    ...(referralId ? { referralUrl: referralLinkOf(ctx.mapping.referralLinkTemplate, referralId) } : {}),
    ...(dealId ? { dealId, ...(dealUrl ? { dealUrl } : {}) } : {}),
  };
}

/** The deal the relay pairs with `referralId`, for a notification's links. */
async function dealOf(ctx: NoticeContext, referralId: string): Promise<string | null> {
  return (await findLinkByReferral(ctx.pool, referralId))?.opportunityId ?? null;
}

/** A referral the inbound sync just brought into the CRM: told when Microsoft waits for an answer. */
export async function noticeArrival(ctx: NoticeContext, referral: Referral, dealId: string): Promise<void> {
  if (!ctx.notifications || !awaitsAnswer(referral)) return;
  const referralId = referral.id as string;
  const deadline = answerDeadline(referral);
  await ctx.notifications.notify(
    {
      kind: 'referral-received',
      at: ctx.now().toISOString(),
      referralId,
      name: typeof referral.name === 'string' ? referral.name : undefined,
      ...(deadline ? { expiresAt: deadline.toISOString() } : {}),
      ...links(ctx, referralId, dealId),
    },
    { once: referralId },
  );
}

/**
 * A co-sell referral shared with Microsoft, as read now: told once when Microsoft accepted or
 * declined it, about the pair of `pairReferralId` (the partner's own referral in the engagement).
 */
export async function noticeMicrosoftAnswer(
  ctx: NoticeContext,
  referral: Referral,
  pairReferralId: string,
): Promise<void> {
  const kind = microsoftAnswer(referral);
  if (!kind || !ctx.notifications) return;
  await ctx.notifications.notify(
    {
      kind,
      at: ctx.now().toISOString(),
      referralId: pairReferralId,
      name: typeof referral.name === 'string' ? referral.name : undefined,
      ...(kind === 'referral-declined' && typeof referral.statusReason === 'string' && referral.statusReason
        ? { reason: referral.statusReason }
        : {}),
      ...links(ctx, pairReferralId, await dealOf(ctx, pairReferralId)),
    },
    { once: referral.id as string },
  );
}

/** A record the relay gave up on (its dead letter opened, or its error changed). */
export async function noticeGaveUp(
  ctx: NoticeContext,
  subject: { referralId?: string; opportunityId?: string },
  error: unknown,
): Promise<void> {
  if (!ctx.notifications) return;
  const notification: Notification = {
    kind: 'sync-error',
    at: ctx.now().toISOString(),
    referralId: subject.referralId,
    reason: describeError(error),
    errorCode: isRelayError(error) ? error.code : 'INTERNAL',
    ...links(ctx, subject.referralId, subject.opportunityId),
  };
  await ctx.notifications.notify(notification);
}

/**
 * The expiry scan (a scheduled job): every incoming referral still waiting for an answer whose
 * 14 days end within `warnMs` is announced once, with its deadline. Partner Center lists the New
 * ones; the rest of the check is done here, so an unfiltered answer is handled the same.
 */
export async function noticeExpiring(
  ctx: NoticeContext & Pick<SyncContext, 'referrals'>,
  warnMs: number,
): Promise<number> {
  if (!ctx.notifications) return 0;
  const now = ctx.now().getTime();
  let due = 0;
  for await (const referral of ctx.referrals.list({ filter: odataEquals('status', 'New') })) {
    const deadline = answerDeadline(referral);
    if (!deadline || deadline.getTime() <= now || deadline.getTime() - now > warnMs) continue;
    const referralId = referral.id as string;
    await ctx.notifications.notify(
      {
        kind: 'referral-expiring',
        at: ctx.now().toISOString(),
        referralId,
        name: typeof referral.name === 'string' ? referral.name : undefined,
        expiresAt: deadline.toISOString(),
        ...links(ctx, referralId, await dealOf(ctx, referralId)),
      },
      { once: referralId },
    );
    due++;
  }
  return due;
}
