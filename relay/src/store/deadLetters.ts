/**
 * Dead letters of sync jobs, one open per record and direction (relay/sql/000003_dead_letters.sql).
 * The sync task records one when it gives up on a record and closes it when a sync of that record
 * succeeds; the dashboard, the admin API and `relay dlq` list, retry and drop them. Jobs of other
 * tasks (reconcile, prune) that run out of attempts stay graphile-worker's failed jobs and are
 * listed beside them.
 */
import type { Queryable } from './transaction.ts';
import type { FailedJob } from './queue.ts';
import { countFailedJobsByTask, enqueue, listFailedJobs, retryFailedJobs } from './queue.ts';

export type DeadLetterDirection = 'inbound' | 'outbound';

export interface DeadLetter extends FailedJob {
  /** Null for a failed job of a task other than the two syncs. */
  direction: DeadLetterDirection | null;
  recordId: string | null;
  referralId: string | null;
  opportunityId: string | null;
  /** True when no retry could have fixed the error (the job ended after that attempt). */
  permanent: boolean;
  /** How many jobs gave up on the record since the dead letter opened. */
  failures: number;
  firstFailedAt: Date;
}

export interface GiveUp {
  jobId: string;
  direction: DeadLetterDirection;
  recordId: string;
  task: string;
  jobKey: string | null;
  payload: unknown;
  referralId?: string;
  opportunityId?: string;
  error: string;
  permanent: boolean;
  attempts: number;
  maxAttempts: number;
}

/**
 * Opens the record's dead letter, or updates the open one: a record that keeps failing has one
 * dead letter however many jobs gave up on it. Returns its id and failure count.
 */
export async function recordDeadLetter(
  db: Queryable,
  giveUp: GiveUp,
): Promise<{ id: string; failures: number; previousError: string | null }> {
  const { rows } = await db.query<{ id: string; failures: number; previous_error: string | null }>(
    // The CTE reads the table as it was before the upsert: the open dead letter's last error.
    `with previous as (
       select last_error from cosell.dead_letters where direction = $2 and record_id = $3 and closed_at is null
     )
     insert into cosell.dead_letters
       (id, direction, record_id, task, job_key, payload, referral_id, opportunity_id, last_error, permanent, attempts, max_attempts)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     on conflict (direction, record_id) where closed_at is null do update set
       task = excluded.task,
       job_key = excluded.job_key,
       payload = excluded.payload,
       referral_id = coalesce(excluded.referral_id, dead_letters.referral_id),
       opportunity_id = coalesce(excluded.opportunity_id, dead_letters.opportunity_id),
       last_error = excluded.last_error,
       permanent = excluded.permanent,
       attempts = excluded.attempts,
       max_attempts = excluded.max_attempts,
       failures = dead_letters.failures + 1,
       last_failed_at = now()
     returning id, failures, (select last_error from previous) as previous_error`,
    [
      giveUp.jobId,
      giveUp.direction,
      giveUp.recordId,
      giveUp.task,
      giveUp.jobKey,
      JSON.stringify(giveUp.payload ?? {}),
      giveUp.referralId ?? null,
      giveUp.opportunityId ?? null,
      giveUp.error,
      giveUp.permanent,
      giveUp.attempts,
      giveUp.maxAttempts,
    ],
  );
  return { id: String(rows[0].id), failures: rows[0].failures, previousError: rows[0].previous_error };
}

/** True while the record has an open dead letter in that direction. */
export async function hasOpenDeadLetter(
  db: Queryable,
  direction: DeadLetterDirection,
  recordId: string,
): Promise<boolean> {
  const { rows } = await db.query(
    'select 1 from cosell.dead_letters where direction = $1 and record_id = $2 and closed_at is null',
    [direction, recordId],
  );
  return rows.length > 0;
}

/** Closes the record's open dead letter after a successful sync; returns its id when there was one. */
export async function closeDeadLetter(
  db: Queryable,
  direction: DeadLetterDirection,
  recordId: string,
): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `update cosell.dead_letters set closed_at = now(), closed_reason = 'synced'
      where direction = $1 and record_id = $2 and closed_at is null returning id`,
    [direction, recordId],
  );
  return rows.length > 0 ? String(rows[0].id) : null;
}

interface DeadLetterRow {
  id: string;
  direction: DeadLetterDirection;
  record_id: string;
  task: string;
  job_key: string | null;
  payload: unknown;
  referral_id: string | null;
  opportunity_id: string | null;
  last_error: string;
  permanent: boolean;
  attempts: number;
  max_attempts: number;
  failures: number;
  first_failed_at: Date;
  last_failed_at: Date;
}

function fromRow(r: DeadLetterRow): DeadLetter {
  return {
    id: String(r.id),
    task: r.task,
    key: r.job_key,
    payload: r.payload,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    lastError: r.last_error,
    runAt: r.last_failed_at,
    updatedAt: r.last_failed_at,
    direction: r.direction,
    recordId: r.record_id,
    referralId: r.referral_id,
    opportunityId: r.opportunity_id,
    permanent: r.permanent,
    failures: r.failures,
    firstFailedAt: r.first_failed_at,
  };
}

/** Open dead letters not waiting on an operator's retry, newest failure first. */
export async function listOpenDeadLetters(db: Queryable, limit = 100): Promise<DeadLetter[]> {
  const { rows } = await db.query<DeadLetterRow>(
    `select * from cosell.dead_letters
      where closed_at is null and (retried_at is null or retried_at < last_failed_at)
      order by last_failed_at desc limit $1`,
    [limit],
  );
  return rows.map(fromRow);
}

export async function countOpenDeadLetters(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `select count(*) as n from cosell.dead_letters
      where closed_at is null and (retried_at is null or retried_at < last_failed_at)`,
  );
  return Number(rows[0].n);
}

/** Sync dead letters and other tasks' failed jobs together, newest first. */
export async function listDeadLetters(db: Queryable, limit = 100): Promise<DeadLetter[]> {
  const [own, failed] = await Promise.all([listOpenDeadLetters(db, limit), listFailedJobs(db, limit)]);
  const others: DeadLetter[] = failed.map((job) => ({
    ...job,
    direction: null,
    recordId: null,
    referralId: null,
    opportunityId: null,
    permanent: false,
    failures: 1,
    firstFailedAt: job.updatedAt,
  }));
  return [...own, ...others].sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime()).slice(0, limit);
}

async function openDeadLetter(db: Queryable, id: string): Promise<DeadLetter | null> {
  if (!/^\d+$/.test(id)) return null;
  const { rows } = await db.query<DeadLetterRow>(
    'select * from cosell.dead_letters where id = $1 and closed_at is null',
    [id],
  );
  return rows.length > 0 ? fromRow(rows[0]) : null;
}

/**
 * Puts a dead letter's record back in the queue with fresh attempts (its dead letter stays open,
 * hidden, until the sync succeeds or fails again), or a failed job of another task. Returns what
 * was retried, or null when `id` names neither.
 */
export async function retryDeadLetter(db: Queryable, id: string): Promise<DeadLetter | null> {
  const letter = await openDeadLetter(db, id);
  if (letter !== null) {
    const payload = { ...(letter.payload as Record<string, unknown>), reason: 'retry' };
    await enqueue(db, letter.task, payload, {
      jobKey: letter.key ?? undefined,
      maxAttempts: letter.maxAttempts,
    });
    await db.query('update cosell.dead_letters set retried_at = now() where id = $1', [id]);
    return letter;
  }
  const failed = (await listDeadLetters(db, 10_000)).find((job) => job.id === id && job.direction === null);
  if (failed === undefined) return null;
  await retryFailedJobs(db, [id]);
  return failed;
}

/**
 * Closes a dead letter for good without syncing its record. A failed job of another task is
 * handed to `completeJob` (graphile-worker's own API). Returns what was dropped, or null.
 */
export async function dropDeadLetter(
  db: Queryable,
  id: string,
  completeJob: (jobId: string) => Promise<void>,
): Promise<DeadLetter | null> {
  const letter = await openDeadLetter(db, id);
  if (letter !== null) {
    await db.query(
      `update cosell.dead_letters set closed_at = now(), closed_reason = 'dropped' where id = $1 and closed_at is null`,
      [id],
    );
    return letter;
  }
  const failed = (await listDeadLetters(db, 10_000)).find((job) => job.id === id && job.direction === null);
  if (failed === undefined) return null;
  await completeJob(id);
  return failed;
}

export interface DeadLetterError {
  id: string;
  task: string;
  lastError: string | null;
  updatedAt: Date;
}

/** Every dead letter's id, task and last error (no payloads), for grouping by kind. */
export async function listDeadLetterErrors(db: Queryable): Promise<DeadLetterError[]> {
  const letters = await listDeadLetters(db, 10_000);
  return letters.map((l) => ({ id: l.id, task: l.task, lastError: l.lastError, updatedAt: l.updatedAt }));
}

/** Dead letters per task, counted in the database (for /metrics, scraped often). */
export async function countDeadLettersByTask(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ task: string; n: string }>(
    `select task, count(*) as n from cosell.dead_letters
      where closed_at is null and (retried_at is null or retried_at < last_failed_at)
      group by task`,
  );
  const counts = await countFailedJobsByTask(db);
  for (const r of rows) counts.set(r.task, (counts.get(r.task) ?? 0) + Number(r.n));
  return counts;
}
