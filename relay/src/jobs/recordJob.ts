import type { JobHelpers, Task } from 'graphile-worker';
import type pg from 'pg';
import { isOutageError } from '../breaker.ts';
import type { CircuitBreaker } from '../breaker.ts';
import { describeError, RelayError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { recordAudit } from '../store/audit.ts';
import { findLinkByOpportunity, findLinkByReferral } from '../store/links.ts';
import type { SYNC_KINDS } from '../store/queue.ts';
import { deferRunningJob, isSupersededJob, jobKey } from '../store/queue.ts';
import type { RecordLocks } from '../store/recordLocks.ts';

export interface RecordJobDeps {
  pool: pg.Pool;
  locks: RecordLocks;
  /** The breakers whose opening makes a job wait rather than fail. */
  breakers: Array<Pick<CircuitBreaker, 'retryAt'>>;
  /** How soon a job that found its record's other job running looks again. */
  busyDelayMs: number;
  /** Without any breaker's time to go by, how long an outage answer makes a job wait. */
  outageDelayMs: number;
  logger: Logger;
}

/** The id of the record a sync job is about, from its payload. */
function recordIdOf(kind: keyof typeof SYNC_KINDS, payload: unknown): string | null {
  const p = payload as Record<string, unknown> | null;
  const id = kind === 'referral' ? p?.referralId : p?.opportunityId;
  return typeof id === 'string' && id !== '' ? id : null;
}

/**
 * The lock name of one half of a pair. Opportunity ids go by their 15-character form, since the
 * link and an event may spell the same record in either form.
 */
function lockName(kind: keyof typeof SYNC_KINDS, id: string): string {
  return jobKey(kind, kind === 'opportunity' ? id.slice(0, 15) : id);
}

/** The lock of the pair's other half, when the link knows it: that direction's job waits too. */
async function pairedLockOf(
  pool: pg.Pool,
  kind: keyof typeof SYNC_KINDS,
  id: string,
): Promise<string | null> {
  if (kind === 'referral') {
    const link = await findLinkByReferral(pool, id);
    return link?.opportunityId ? lockName('opportunity', link.opportunityId) : null;
  }
  const link = await findLinkByOpportunity(pool, id);
  return link?.referralId ? lockName('referral', link.referralId) : null;
}

const defer = async (
  deps: Pick<RecordJobDeps, 'pool'>,
  helpers: JobHelpers,
  runAt: Date,
  reason: string,
): Promise<never> => {
  const deferred = await deferRunningJob(deps.pool, helpers.job, runAt, reason);
  throw new RelayError('JOB_DEFERRED', reason, { details: { deferred, runAt: runAt.toISOString() } });
};

/**
 * Wraps a task that calls the clouds (a sync, the reconcile) so that an outage (a breaker open, the
 * org's API limit, a 429) makes it wait in the queue until the breakers let calls through again,
 * without spending an attempt: the job has not failed. While a breaker is open the job waits
 * before calling anything, since every such task needs both clouds.
 */
export function waitingOutOutages(
  deps: Pick<RecordJobDeps, 'pool' | 'breakers' | 'outageDelayMs'>,
  task: Task,
  options: { dropSuperseded?: boolean } = {},
): Task {
  const pausedUntil = (): number => Math.max(0, ...deps.breakers.map((b) => b.retryAt()?.getTime() ?? 0));
  // A record's job superseded while it ran does not wait: the newer job does its work. Put back, it
  // would run on as a keyless job and, once out of attempts, stay behind as a dead letter.
  const superseded = async (helpers: JobHelpers) =>
    options.dropSuperseded === true && (await isSupersededJob(deps.pool, helpers.job.id).catch(() => false));
  return async (payload, helpers) => {
    const paused = pausedUntil();
    if (paused > Date.now()) {
      if (await superseded(helpers)) return;
      await defer(deps, helpers, new Date(paused), 'Waiting for a circuit breaker to close');
    }
    try {
      return await task(payload, helpers);
    } catch (error) {
      if (!isOutageError(error)) throw error;
      if (await superseded(helpers)) return;
      const fallback = Date.now() + (error.retryAfterMs ?? deps.outageDelayMs);
      return defer(
        deps,
        helpers,
        new Date(Math.max(fallback, pausedUntil())),
        `Waiting: ${describeError(error)}`,
      );
    }
  };
}

/**
 * Wraps a sync task so that syncs of one record, and of the pair it belongs to, run one at a time
 * across workers and relay instances. A change arriving while a record's job runs becomes a second job (graphile-worker
 * moves the key to it); that job waits for the lock, attempt unspent, instead of racing the first,
 * so an older result never lands after a newer one. A job superseded so while it ran that then
 * fails is dropped rather than kept as a dead letter: the newer job syncs the record's current
 * state, and keeps its own dead letter if it fails too. Outages are waited out as above.
 */
export function oneJobPerRecord(deps: RecordJobDeps, kind: keyof typeof SYNC_KINDS, task: Task): Task {
  const serialised: Task = async (payload, helpers) => {
    const id = recordIdOf(kind, payload);
    if (id === null) return task(payload, helpers);
    const key = jobKey(kind, id);
    const paired = await pairedLockOf(deps.pool, kind, id);
    // Both halves of a pair, so a referral's inbound job and its Opportunity's outbound job take
    // turns too; try-locks never block, so the order they are taken in cannot deadlock.
    const run = async (): Promise<boolean> => {
      if (!paired) {
        await task(payload, helpers);
        return true;
      }
      return (
        await deps.locks.tryRun(paired, async () => {
          await task(payload, helpers);
        })
      ).acquired;
    };
    let ran: boolean;
    try {
      const attempt = await deps.locks.tryRun(lockName(kind, id), run);
      ran = attempt.acquired && attempt.value;
    } catch (error) {
      const subject = kind === 'referral' ? { referralId: id } : { opportunityId: id };
      const direction = kind === 'referral' ? 'inbound' : 'outbound';
      if (await dropIfSuperseded(deps.pool, helpers.job.id, direction, subject, describeError(error))) {
        deps.logger.info({ jobId: helpers.job.id, key }, 'superseded job failed; dropped');
        return;
      }
      throw error;
    }
    if (!ran && (await isSupersededJob(deps.pool, helpers.job.id).catch(() => false))) {
      // The record's newer job (it holds the key now) does this one's work: nothing to wait for.
      deps.logger.debug({ jobId: helpers.job.id, key }, 'superseded job found its record busy; dropped');
      return;
    }
    // Jittered, so two halves of a pair that each took one lock do not retry in step.
    if (!ran)
      await defer(
        deps,
        helpers,
        new Date(Date.now() + deps.busyDelayMs * (1 + Math.random())),
        `Waiting for the running job of ${key} or its pair to finish`,
      );
  };
  return waitingOutOutages(deps, serialised, { dropSuperseded: true });
}

/**
 * A job whose record got a newer job while it ran (graphile-worker moved the key to it) does not
 * keep its failure: the newer job syncs the record's current state, and keeps the dead letter if
 * it fails too. Returns true, after an audit line, when the job was superseded so.
 */
export async function dropIfSuperseded(
  pool: pg.Pool,
  jobId: string | number,
  direction: 'inbound' | 'outbound',
  subject: { referralId?: string; opportunityId?: string },
  reason: string,
): Promise<boolean> {
  if (!(await isSupersededJob(pool, jobId).catch(() => false))) return false;
  await recordAudit(pool, {
    direction,
    level: 'INFO',
    jobId: String(jobId),
    message: `Job ${jobId} was superseded by a newer job for this record while it ran; its failure is not kept (${reason})`,
    ...subject,
  }).catch(() => undefined);
  return true;
}
