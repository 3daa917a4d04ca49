import type { JobHelpers, Task } from 'graphile-worker';
import type pg from 'pg';
import { isOutageError } from '../breaker.ts';
import type { CircuitBreaker } from '../breaker.ts';
import { describeError, RelayError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { recordAudit } from '../store/audit.ts';
import { deferRunningJob, isSupersededJob, SYNC_KINDS } from '../store/queue.ts';
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

/** The job-key of the record a sync job is about (`pc:<referral id>`, `sf:<opportunity id>`). */
export function recordKeyOf(kind: keyof typeof SYNC_KINDS, payload: unknown): string | null {
  const p = payload as Record<string, unknown> | null;
  const id = kind === 'referral' ? p?.referralId : p?.opportunityId;
  return typeof id === 'string' && id !== '' ? SYNC_KINDS[kind].keyPrefix + id : null;
}

/**
 * Wraps a sync task so that:
 * - syncs of one record run one at a time across workers and relay instances. A change arriving
 *   while a record's job runs becomes a second job (graphile-worker moves the key to it); that job
 *   waits for the lock instead of racing the first, so an older result never lands after a newer.
 * - a job that meets an outage (a breaker open, the org's API limit, a 429) waits in the queue
 *   until the breaker lets calls through again, without spending an attempt: the job has not failed.
 * - a job superseded while it ran (its key moved to a newer job for the record) that fails is
 *   dropped rather than kept as a dead letter: the newer job syncs the record's current state, and
 *   keeps its own dead letter if it fails too.
 * Waiting jobs are put back with deferRunningJob and end by throwing JOB_DEFERRED.
 */
export function oneJobPerRecord(deps: RecordJobDeps, kind: keyof typeof SYNC_KINDS, task: Task): Task {
  const defer = async (helpers: JobHelpers, runAt: Date, reason: string): Promise<never> => {
    const deferred = await deferRunningJob(deps.pool, helpers.job, runAt, reason);
    throw new RelayError('JOB_DEFERRED', reason, { details: { deferred, runAt: runAt.toISOString() } });
  };
  const outageEnds = (error: RelayError): Date => {
    const times = deps.breakers
      .map((b) => b.retryAt()?.getTime())
      .filter((t): t is number => t !== undefined);
    const fallback = Date.now() + (error.retryAfterMs ?? deps.outageDelayMs);
    return new Date(Math.max(fallback, ...times));
  };

  return async (payload, helpers) => {
    const key = recordKeyOf(kind, payload);
    if (key === null) return task(payload, helpers);
    // A job needs both clouds: while a breaker is open it waits without calling either.
    const paused = Math.max(0, ...deps.breakers.map((b) => b.retryAt()?.getTime() ?? 0));
    if (paused > Date.now()) await defer(helpers, new Date(paused), 'Waiting for a circuit breaker to close');
    let attempt;
    try {
      attempt = await deps.locks.tryRun(key, async () => task(payload, helpers));
    } catch (error) {
      if (await isSupersededJob(deps.pool, helpers.job.id).catch(() => false)) {
        const subject = kind === 'referral' ? { referralId: key.slice(3) } : { opportunityId: key.slice(3) };
        await recordAudit(deps.pool, {
          direction: kind === 'referral' ? 'inbound' : 'outbound',
          level: 'INFO',
          jobId: String(helpers.job.id),
          message: `Job ${helpers.job.id} was superseded by a newer job for this record while it ran; its failure is not kept (${describeError(error)})`,
          ...subject,
        }).catch(() => undefined);
        deps.logger.info({ jobId: helpers.job.id, key }, 'superseded job failed; dropped');
        return;
      }
      if (isOutageError(error)) await defer(helpers, outageEnds(error), `Waiting: ${describeError(error)}`);
      throw error;
    }
    if (!attempt.acquired)
      await defer(
        helpers,
        new Date(Date.now() + deps.busyDelayMs),
        `Waiting for the running job of ${key} to finish`,
      );
  };
}
