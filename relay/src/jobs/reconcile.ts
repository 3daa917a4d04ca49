import type { Task } from 'graphile-worker';
import type pg from 'pg';
import { crashPoint } from '../crashPoint.ts';
import type { Logger } from '../logger.ts';
import type { ReferralsClient } from '../partner-center/referralsClient.ts';
import { loadCheckpoint, saveCheckpoint } from '../store/checkpoints.ts';
import { enqueue, enqueueMany, jobKey, RECONCILE_WATERMARK, TASKS } from '../store/queue.ts';
import type { JobSpec } from '../store/queue.ts';

/** Jobs enqueued per statement: Partner Center's list page size, and half a Collections call. */
const ENQUEUE_PAGE = 100;

export const REFERRAL_WATERMARK = RECONCILE_WATERMARK;
export const OPPORTUNITY_WATERMARK = 'reconcile:opportunities';

export interface ReconcileDeps {
  pool: pg.Pool;
  referrals: ReferralsClient;
  /** Ids of Opportunities with sync on, modified at or after `since` (all of them when null). */
  listChangedOpportunities(since: Date | null): Promise<string[]>;
  overlapSeconds: number;
  maxAttempts: number;
  logger: Logger;
  now: () => Date;
}

export interface ReconcileResult {
  referrals: number;
  opportunities: number;
}

const readWatermark = async (pool: pg.Pool, name: string) => {
  const value = await loadCheckpoint(pool, name);
  return value ? new Date(value.toString('utf8')) : null;
};

/**
 * The safety net under both event streams. Partner Center drops a webhook for good after 10
 * failed attempts, and a Pub/Sub replay id can expire: every run enqueues a sync for each referral
 * updated, and each synced Opportunity modified, since the last run (minus an overlap for clock
 * skew). The sync jobs are idempotent, so anything already in sync costs one comparison.
 */
/**
 * Enqueues a sync for every referral Partner Center lists as updated at or after `since` (every
 * referral when null), oldest first; returns how many. Backfill and reconcile share it.
 */
export async function enqueueReferralSyncs(
  deps: Pick<ReconcileDeps, 'pool' | 'referrals' | 'maxAttempts'>,
  since: Date | null,
  reason: 'backfill' | 'reconcile',
  onProgress?: (count: number) => void,
): Promise<number> {
  let count = 0;
  // A page's worth of jobs goes in with one statement, so they become runnable together and the
  // Salesforce batcher sees them at once: enqueued one by one while the listing pages on, each job
  // ran alone and cost its own Salesforce reads and write (one Collections call per referral).
  // Keyed, because add_jobs wants distinct keys and a listing that shifts while it pages can return a referral twice.
  let page = new Map<string, JobSpec>();
  const flush = async () => {
    if (page.size === 0) return;
    await enqueueMany(deps.pool, [...page.values()]);
    count += page.size;
    page = new Map();
    onProgress?.(count);
    crashPoint(reason === 'backfill' ? 'backfill:enqueued' : 'reconcile:enqueued');
  };
  for await (const referral of deps.referrals.list({
    filter: since ? `updatedDateTime ge ${since.toISOString()}` : undefined,
    orderBy: 'updatedDateTime asc',
  })) {
    if (!referral.id) continue;
    page.set(referral.id, {
      task: TASKS.referralChanged,
      payload: { referralId: referral.id, reason },
      jobKey: jobKey('referral', referral.id),
      maxAttempts: deps.maxAttempts,
    });
    if (page.size >= ENQUEUE_PAGE) await flush();
  }
  await flush();
  return count;
}

export async function reconcile(
  deps: ReconcileDeps,
  options: { full?: boolean } = {},
): Promise<ReconcileResult> {
  const startedAt = deps.now();
  const overlap = deps.overlapSeconds * 1000;
  const referralSince = options.full ? null : await readWatermark(deps.pool, REFERRAL_WATERMARK);
  const from = referralSince ? new Date(referralSince.getTime() - overlap) : null;
  const referrals = await enqueueReferralSyncs(deps, from, options.full ? 'backfill' : 'reconcile');
  const opportunitySince = options.full ? null : await readWatermark(deps.pool, OPPORTUNITY_WATERMARK);
  const ids = await deps.listChangedOpportunities(
    opportunitySince ? new Date(opportunitySince.getTime() - overlap) : null,
  );
  for (const opportunityId of ids) {
    await enqueue(
      deps.pool,
      TASKS.opportunityChanged,
      { opportunityId, changeKind: 'Reconcile' },
      {
        jobKey: jobKey('opportunity', opportunityId),
        maxAttempts: deps.maxAttempts,
        keyMode: 'preserve_run_at',
      },
    );
  }
  // Watermarks move to when this run started: anything changed while it ran is caught next time.
  const mark = Buffer.from(startedAt.toISOString(), 'utf8');
  await saveCheckpoint(deps.pool, REFERRAL_WATERMARK, mark);
  await saveCheckpoint(deps.pool, OPPORTUNITY_WATERMARK, mark);
  deps.logger.info(
    { referrals, opportunities: ids.length, full: Boolean(options.full) },
    'reconcile enqueued syncs',
  );
  return { referrals, opportunities: ids.length };
}

export function reconcileTask(deps: ReconcileDeps): Task {
  return async (payload) => {
    const full = Boolean((payload as { full?: boolean } | null)?.full);
    await reconcile(deps, { full });
  };
}
