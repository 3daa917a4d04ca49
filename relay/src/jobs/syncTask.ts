import type { JobHelpers, Task } from 'graphile-worker';
import { isOutageError } from '../breaker.ts';
import { describeError, isRelayError } from '../errors.ts';
import { recordAudit } from '../store/audit.ts';
import { saveLink } from '../store/links.ts';
import type { SyncContext } from './syncContext.ts';

export interface SyncTaskSpec<P> {
  direction: 'inbound' | 'outbound';
  parse(payload: unknown): P;
  /** The record the job is about, for the audit log and the link. */
  subject(payload: P): { referralId?: string; opportunityId?: string };
  run(payload: P, jobId: string): Promise<unknown>;
  /** Extra reporting once the job is out of attempts (e.g. on the Salesforce record). */
  onGiveUp?(payload: P, error: unknown): Promise<void>;
}

/**
 * Errors another attempt cannot fix without someone changing data or the mapping: retrying only
 * delays the dead letter. Auth problems are not here: once someone signs in again, the queue's
 * next attempt succeeds.
 */
const PERMANENT_CODES = new Set([
  'SF_RECORD_ERROR',
  'SF_INVALID_FIELD',
  'VALIDATION_FAILED',
  'PC_VALIDATION',
  'REQUEST_INVALID',
  'MAPPING_INVALID',
]);

function isPermanent(error: unknown): boolean {
  return isRelayError(error) && !error.retryable && PERMANENT_CODES.has(error.code);
}

/**
 * Wraps a sync job: each failed attempt is audited; a permanent error, or the last attempt, makes
 * the job a dead letter at once (it keeps its last error for the dashboard and `relay dlq`), marks
 * the link Error and lets the job report it on the record.
 */
export function syncTask<P>(ctx: SyncContext, spec: SyncTaskSpec<P>): Task {
  return async (payload: unknown, helpers: JobHelpers) => {
    const parsed = spec.parse(payload);
    const jobId = String(helpers.job.id);
    try {
      await spec.run(parsed, jobId);
    } catch (error) {
      // An outage is not this job's failure: jobs/recordJob.ts puts it back to wait, attempt unspent.
      if (isOutageError(error)) throw error;
      const permanent = isPermanent(error);
      const giveUp = permanent || helpers.job.attempts >= helpers.job.max_attempts;
      const subject = spec.subject(parsed);
      const message = `${giveUp ? 'Gave up' : `Attempt ${helpers.job.attempts} failed`}: ${describeError(error)}`;
      await recordAudit(ctx.pool, {
        direction: spec.direction,
        level: 'ERROR',
        jobId,
        message,
        ...subject,
      }).catch(() => undefined);
      if (!giveUp && isRelayError(error) && error.retryAfterMs !== undefined) {
        // The queue's backoff is counted from run_at: start it where the server asked us to wait.
        await helpers
          .withPgClient((client) =>
            client.query(
              `update graphile_worker._private_jobs set run_at = now() + make_interval(secs => $2) where id = $1`,
              [helpers.job.id, error.retryAfterMs! / 1000],
            ),
          )
          .catch(() => undefined);
      }
      if (giveUp) {
        if (permanent && helpers.job.attempts < helpers.job.max_attempts) {
          // graphile-worker counts this attempt when the error is thrown; equal counts = dead letter.
          await helpers.withPgClient((client) =>
            client.query('update graphile_worker._private_jobs set max_attempts = $2 where id = $1', [
              helpers.job.id,
              helpers.job.attempts,
            ]),
          );
        }
        // The link shows the failure on the dashboard even when the pair was never completed.
        await saveLink(ctx.pool, subject, { syncStatus: 'Error', lastError: describeError(error) }).catch(
          () => undefined,
        );
        await spec.onGiveUp?.(parsed, error).catch(() => undefined);
      }
      throw error;
    }
  };
}
