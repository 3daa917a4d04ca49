/**
 * Sync now: a seller's or an operator's "send this record again and tell me what happened". One id
 * (a referral's or a CRM deal's) names the pair; its outbound job, then its inbound job, run
 * forced past the "nothing changed since the last sync" shortcuts, and the answer waits for
 * both to finish (or for the wait to run out) and reports the pair's status and the audit lines
 * the two jobs wrote.
 */
import type pg from 'pg';
import type { CrmAdapter } from './crm/crmAdapter.ts';
import { describeError, isRelayError } from './errors.ts';
import { SYNC_NOW } from './jobs/opportunityChanged.ts';
import { enqueueReferralSyncNow } from './jobs/referralChanged.ts';
import type { ReferralsClient } from './partner-center/referralsClient.ts';
import type { AuditEvent } from './store/audit.ts';
import { latestAuditId, listAuditAfter } from './store/audit.ts';
import { findLinkByOpportunity, findLinkByReferral } from './store/links.ts';
import type { SyncStatus } from './store/links.ts';
import { countQueuedJobs, enqueueSyncJobs, jobKey } from './store/queue.ts';

export interface SyncNowResult {
  referralId: string | null;
  opportunityId: string | null;
  /** Which directions were queued. */
  queued: Array<'inbound' | 'outbound'>;
  /** False when the wait ran out with a job still queued, running or retrying. */
  done: boolean;
  status: SyncStatus | null;
  lastError: string | null;
  /** What the jobs recorded, oldest first. */
  audit: AuditEvent[];
}

/** An id that names no pair the relay can sync; `message` names the id and says why. */
export class SyncNowRefused extends Error {
  readonly notFound: boolean;
  constructor(message: string, notFound: boolean) {
    super(message);
    this.notFound = notFound;
  }
}

export interface SyncNowDeps {
  pool: pg.Pool;
  crm: Pick<CrmAdapter, 'deals' | 'fields' | 'classifyError'>;
  referrals: Pick<ReferralsClient, 'get'>;
  maxAttempts: number;
  /** How often the wait looks at the queue. */
  pollMs?: number;
}

/** The pair `id` names: by the relay's link first, then by asking the CRM and Partner Center. */
async function resolvePair(
  deps: SyncNowDeps,
  id: string,
): Promise<{ referralId: string | null; opportunityId: string | null }> {
  const link = (await findLinkByReferral(deps.pool, id)) ?? (await findLinkByOpportunity(deps.pool, id));
  if (link) return { referralId: link.referralId, opportunityId: link.opportunityId };
  const f = deps.crm.fields;
  // Not linked yet: a deal whose seller turned sync on (its first send failed, say), or a referral
  // Partner Center holds that never reached the CRM. An id the CRM refuses for good (not one of its
  // ids) is simply not found there; an outage or a sign-in failure is an error, not "not found".
  const deal = await deps.crm.deals
    .readDeals('id', [id], [f.id, f.syncFlag, f.referralId])
    .then((found) => found.get(id) ?? null)
    .catch((error: unknown) => {
      if (deps.crm.classifyError(error)?.permanent) return null;
      throw error;
    });
  if (deal) {
    if (deal[f.syncFlag] !== true)
      throw new SyncNowRefused(
        `${id}: Sync with Partner Center is off for this record; turn it on first`,
        false,
      );
    return { referralId: (deal[f.referralId] as string | null) ?? null, opportunityId: String(deal[f.id]) };
  }
  try {
    await deps.referrals.get(id);
    return { referralId: id, opportunityId: null };
  } catch (error) {
    if (isRelayError(error) && error.code === 'PC_NOT_FOUND')
      throw new SyncNowRefused(`${id}: no referral or CRM record with this id`, true);
    throw new Error(`${id}: Partner Center could not be asked about it: ${describeError(error)}`);
  }
}

export async function syncNow(deps: SyncNowDeps, id: string, waitMs: number): Promise<SyncNowResult> {
  const { referralId, opportunityId } = await resolvePair(deps, id);
  const startedAfter = await latestAuditId(deps.pool);
  const jobIds: string[] = [];
  const keys: string[] = [];
  const queued: SyncNowResult['queued'] = [];
  if (opportunityId) {
    const added = await enqueueSyncJobs(
      deps.pool,
      'opportunity',
      [{ id: opportunityId, payload: { opportunityId, changeKind: SYNC_NOW, force: true } }],
      { maxAttempts: deps.maxAttempts, coalesceMs: 0 },
    );
    jobIds.push(...added.values());
    keys.push(jobKey('opportunity', opportunityId));
    queued.push('outbound');
  }
  if (referralId) {
    // The outbound job queues the referral's own forced job when it is done (opportunityChanged.ts),
    // as the panel's Sync now does; with no deal yet, the referral's job is queued here.
    if (!opportunityId) jobIds.push(await enqueueReferralSyncNow(deps.pool, referralId, deps.maxAttempts));
    keys.push(jobKey('referral', referralId));
    queued.push('inbound');
  }
  const deadline = Date.now() + waitMs;
  const pollMs = deps.pollMs ?? 100;
  let done = false;
  for (;;) {
    done = (await countQueuedJobs(deps.pool, jobIds.filter(Boolean), keys)) === 0;
    if (done || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  // The first sync of a referral-only pair has made its deal by now: report it.
  const link = referralId
    ? await findLinkByReferral(deps.pool, referralId)
    : opportunityId
      ? await findLinkByOpportunity(deps.pool, opportunityId)
      : null;
  const pair = {
    referralId: link?.referralId ?? referralId,
    opportunityId: link?.opportunityId ?? opportunityId,
  };
  return {
    ...pair,
    queued,
    done,
    status: link?.syncStatus ?? null,
    lastError: link?.lastError ?? null,
    audit: await listAuditAfter(deps.pool, { ...pair, afterId: startedAfter }),
  };
}
