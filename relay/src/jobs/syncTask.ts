import type { JobHelpers, Task } from 'graphile-worker';
import { isOutageError } from '../breaker.ts';
import type { CrmAdapter } from '../crm/crmAdapter.ts';
import { describeError, isRelayError } from '../errors.ts';
import { recordAudit } from '../store/audit.ts';
import { closeDeadLetter, recordDeadLetter } from '../store/deadLetters.ts';
import { delayRetry } from '../store/queue.ts';
import { noticeGaveUp } from './notices.ts';
import { gaveUp } from './pairLifecycle.ts';
import { dropIfSuperseded } from './recordJob.ts';
import type { SyncContext } from './syncContext.ts';

export interface SyncTaskSpec<P> {
  direction: 'inbound' | 'outbound';
  parse(payload: unknown): P;
  /** The record the job is about, for the audit log and the link. */
  subject(payload: P): { referralId?: string; opportunityId?: string };
  run(payload: P, jobId: string): Promise<unknown>;
  /** Extra reporting once the job gives up (e.g. on the Salesforce record); not repeated for the same error. */
  onGiveUp?(payload: P, error: unknown): Promise<void>;
}

/**
 * Errors another attempt cannot fix without someone changing data or the mapping: retrying only
 * delays the dead letter. Auth problems are not here: once someone signs in again, the queue's
 * next attempt succeeds. The CRM's own errors are the adapter's to judge (its classifyError).
 */
const PERMANENT_CODES = new Set(['VALIDATION_FAILED', 'PC_VALIDATION', 'REQUEST_INVALID', 'MAPPING_INVALID']);

/** True when no retry can fix `error`: the job ends after this attempt. */
export function isPermanent(error: unknown, crm: Pick<CrmAdapter, 'classifyError'>): boolean {
  if (!isRelayError(error) || error.retryable) return false;
  return PERMANENT_CODES.has(error.code) || crm.classifyError(error)?.permanent === true;
}

/**
 * Wraps a sync job. Each failed attempt is audited. A permanent error, or the last attempt, ends
 * the job there: the record's dead letter is opened or updated (one per record and direction,
 * store/deadLetters.ts), the link is marked Error, and the job reports it on the record. A
 * successful run closes the record's dead letter. The job itself then completes: graphile-worker
 * clears the key of a job it keeps as failed, so every later enqueue for the record would add
 * another failed job beside it.
 */
export function syncTask<P>(ctx: SyncContext, spec: SyncTaskSpec<P>): Task {
  return async (payload: unknown, helpers: JobHelpers) => {
    const parsed = spec.parse(payload);
    const jobId = String(helpers.job.id);
    const subject = spec.subject(parsed);
    const recordId = spec.direction === 'inbound' ? subject.referralId : subject.opportunityId;
    try {
      await spec.run(parsed, jobId);
    } catch (error) {
      // An outage is not this job's failure: jobs/recordJob.ts puts it back to wait, attempt unspent.
      if (isOutageError(error)) throw error;
      const permanent = isPermanent(error, ctx.crm);
      const giveUp = permanent || helpers.job.attempts >= helpers.job.max_attempts;
      const reason = describeError(error);
      const message = `${giveUp ? 'Gave up' : `Attempt ${helpers.job.attempts} failed`}: ${reason}`;
      await recordAudit(ctx.pool, {
        direction: spec.direction,
        level: 'ERROR',
        jobId,
        message,
        ...subject,
      }).catch(() => undefined);
      if (!giveUp) {
        if (isRelayError(error) && error.retryAfterMs !== undefined) {
          // The queue's backoff is counted from run_at: start it where the server asked us to wait.
          await delayRetry(ctx.pool, helpers.job.id, error.retryAfterMs / 1000).catch(() => undefined);
        }
        throw error;
      }
      if (recordId === undefined) throw error;
      ctx.observeGiveUp?.(spec.direction);
      if (await dropIfSuperseded(ctx.pool, helpers.job.id, spec.direction, subject, reason)) return;
      // Written before anything else can fail: the dead letter is what an operator sees.
      const letter = await recordDeadLetter(ctx.pool, {
        jobId,
        direction: spec.direction,
        recordId,
        task: helpers.job.task_identifier,
        jobKey: helpers.job.key ?? null,
        payload,
        ...subject,
        error: reason,
        permanent,
        attempts: helpers.job.attempts,
        maxAttempts: helpers.job.max_attempts,
      });
      helpers.logger.warn(`dead letter ${letter.id} for ${recordId} (failure ${letter.failures}): ${reason}`);
      // The link shows the failure on the dashboard even when the pair was never completed.
      await gaveUp(ctx.pool, subject, reason).catch(() => undefined);
      // The same error again (every reconcile re-runs the record) is on the record already.
      if (letter.previousError !== reason) {
        await spec.onGiveUp?.(parsed, error).catch(() => undefined);
        await noticeGaveUp(ctx, subject, error);
      }
      return;
    }
    if (recordId !== undefined) {
      const closed = await closeDeadLetter(ctx.pool, spec.direction, recordId);
      if (closed !== null)
        await recordAudit(ctx.pool, {
          direction: spec.direction,
          level: 'INFO',
          jobId,
          message: `Dead letter ${closed} closed: the record synced`,
          ...subject,
        });
    }
  };
}
