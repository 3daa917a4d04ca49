/**
 * A paired CRM record deleted or restored (the change feed's Deleted / Undeleted kinds). A delete
 * follows DEAL_DELETED_RULE: `close` closes the referral in Partner Center (Closed/Lost, or
 * Closed/Declined while it is still New, with DEAL_DELETED_REASON as its statusReason), `keep-open`
 * leaves it as it is. Either way the link keeps the pair, marked deleted, so the inbound sync does
 * not make a new record for the referral; a restore clears the mark and the pair syncs again.
 */
import { recordAudit } from '../store/audit.ts';
import { findLinkByOpportunity } from '../store/links.ts';
import { isTerminal } from '../sync/index.ts';
import type { ReferralPatchOperation } from '../sync/referral.ts';
import { dealDeleted, dealRestored } from './pairLifecycle.ts';
import { loggedRetry } from './retry.ts';
import type { SyncContext } from './syncContext.ts';

export type RemovalOutcome =
  'closed' | 'kept-open' | 'already-final' | 'unpaired' | 'repeated' | 'still-there';

/** The Deleted kind of a change: what the rule did, or `still-there` when the record exists after all. */
export async function dealDeletedOutbound(
  ctx: SyncContext,
  opportunityId: string,
  jobId?: string,
): Promise<RemovalOutcome> {
  const f = ctx.crm.fields;
  const log = ctx.logger.child({ opportunityId, jobId });
  const retry = loggedRetry(ctx.retry, log);
  // Restored before this job ran (or the event was about another record): a normal sync follows.
  const present = await retry('read Opportunity', () =>
    ctx.crm.deals.readDeals('id', [opportunityId], [f.id]),
  );
  if (present.has(opportunityId)) return 'still-there';
  const link = await findLinkByOpportunity(ctx.pool, opportunityId);
  const audit = (message: string, referralId: string | null) =>
    recordAudit(ctx.pool, {
      direction: 'outbound',
      level: 'INFO',
      opportunityId,
      referralId,
      jobId,
      message,
    });
  if (!link?.referralId) {
    await audit(
      'Opportunity deleted in the CRM; it had no referral, so nothing changes in Partner Center',
      null,
    );
    return 'unpaired';
  }
  if (link.dealDeletedAt) return 'repeated';
  const referralId = link.referralId;
  const rule = ctx.deletes ?? { rule: 'close', reason: 'The deal was deleted in the CRM' };
  let message: string;
  let outcome: RemovalOutcome;
  const referral = await retry('GET referral', () => ctx.referrals.get(referralId));
  if (isTerminal(referral)) {
    message = `Opportunity deleted in the CRM; referral ${referralId} was already ${referral.status}/${referral.substatus}`;
    outcome = 'already-final';
  } else if (rule.rule === 'keep-open') {
    message = `Opportunity deleted in the CRM; referral ${referralId} left ${referral.status}/${referral.substatus} in Partner Center (DEAL_DELETED_RULE=keep-open)`;
    outcome = 'kept-open';
  } else {
    // Partner Center's transitions: New may close as Declined, Active as Lost (contract §1.5).
    const substatus = referral.status === 'New' ? 'Declined' : 'Lost';
    const ops: ReferralPatchOperation[] = [
      { op: 'replace', path: '/status', value: 'Closed' },
      { op: 'replace', path: '/substatus', value: substatus },
      { op: 'replace', path: '/statusReason', value: rule.reason },
    ];
    await retry('PATCH referral', () => ctx.referrals.patch(referralId, ops, referral.eTag as string));
    message = `Opportunity deleted in the CRM; referral ${referralId} closed as Closed/${substatus} ("${rule.reason}")`;
    outcome = 'closed';
  }
  await dealDeleted(ctx.pool, opportunityId, message);
  await audit(message, referralId);
  log.info({ referralId, outcome }, message);
  return outcome;
}

/** The Undeleted kind: the pair is re-linked; the caller then syncs the record as usual. */
export async function dealRestoredOutbound(
  ctx: SyncContext,
  opportunityId: string,
  jobId?: string,
): Promise<void> {
  const link = await findLinkByOpportunity(ctx.pool, opportunityId);
  if (!link) return;
  await dealRestored(ctx.pool, opportunityId);
  await recordAudit(ctx.pool, {
    direction: 'outbound',
    level: 'INFO',
    opportunityId,
    referralId: link.referralId,
    jobId,
    message: 'Opportunity restored in the CRM; the pair syncs again',
  });
}
