/**
 * Whether a referral becomes (or updates) an Opportunity of its own, decided by the referral alone
 * and what the relay already links in its engagement: never by which webhook event announced it.
 * `referral-created` and `related-referral-created` for one referral can merge into one job in
 * either order, so the event name would make the outcome depend on timing.
 * Source: contracts/partner-center.md §1.4 (the co-sell pair), §1.6.2 (referral category).
 */
import type { Referral } from './referralSchema.ts';

export type ReferralCategory = 'marketplace lead' | 'qualified lead' | 'co-sell opportunity' | 'unclassified';

function invitedBy(referral: Referral): string | null {
  const context = referral.inviteContext as
    { invitedBy?: { organizationId?: unknown } | null } | null | undefined;
  const id = context?.invitedBy?.organizationId;
  return typeof id === 'string' && id.trim() !== '' ? id.trim() : null;
}

/** The category table of §1.6.2 (type, qualification, invitedBy). */
export function referralCategory(referral: Referral): ReferralCategory {
  const type = referral.type;
  const qualification = referral.qualification;
  const inviter = invitedBy(referral);
  const fromMicrosoft = inviter === null || inviter.toLowerCase() === 'msft';
  if (type === 'Independent' && qualification === 'Direct' && fromMicrosoft) return 'marketplace lead';
  if (
    type === 'Independent' &&
    (qualification === 'SalesQualified' || qualification === 'MarketingQualified') &&
    inviter?.toLowerCase() === 'msft'
  )
    return 'qualified lead';
  if (
    (type === 'Independent' || type === 'Shared') &&
    (qualification === 'SalesQualified' || qualification === 'None' || qualification === undefined) &&
    inviter !== null &&
    inviter.toLowerCase() !== 'msft'
  )
    return 'co-sell opportunity';
  return 'unclassified';
}

/**
 * The referral names the Opportunity as its external id, as every referral this relay POSTs does.
 * Opportunity ids compare in their 15-character form: the two sides may spell them either way.
 */
export function namesOpportunity(referral: Referral, opportunityId: string): boolean {
  const external = referral.externalReferenceId;
  return typeof external === 'string' && external.slice(0, 15) === opportunityId.slice(0, 15);
}

/** The second referral of a co-sell pair, the one a partner POSTs "for Microsoft" (§1.4). */
export function isForMicrosoft(referral: Referral): boolean {
  const targets = Array.isArray(referral.target) ? (referral.target as unknown[]) : [];
  return targets.some((target) => {
    const t = target as { type?: unknown; id?: unknown } | null;
    return t?.type === 'BusinessProfileLocation' && typeof t.id === 'string' && t.id.toLowerCase() === 'msft';
  });
}

export type InboundDecision =
  | { readonly kind: 'sync'; readonly category: ReferralCategory }
  /** Another referral of ours in the same engagement is the one paired with an Opportunity. */
  | { readonly kind: 'via'; readonly referralId: string; readonly message: string }
  | { readonly kind: 'skip'; readonly message: string };

/**
 * `ownReferralId` is the referral the relay links in this referral's engagement (by the
 * Opportunity its externalReferenceId names, or by engagementId), if any.
 */
export function decideInbound(referral: Referral, ownReferralId: string | null): InboundDecision {
  const engagement = typeof referral.engagementId === 'string' ? referral.engagementId : '';
  if (ownReferralId !== null && ownReferralId !== referral.id) {
    return {
      kind: 'via',
      referralId: ownReferralId,
      message: `Referral ${referral.id} is the other side of engagement ${engagement}; synced through referral ${ownReferralId}`,
    };
  }
  if (isForMicrosoft(referral)) {
    return {
      kind: 'skip',
      message: `Referral ${referral.id} is the referral for Microsoft of engagement ${engagement}; the partner's referral in it carries the sync`,
    };
  }
  return { kind: 'sync', category: referralCategory(referral) };
}
