import type { Queryable } from './links.ts';

export interface DeadLetterError {
  id: string;
  task: string;
  lastError: string | null;
  updatedAt: Date;
}

/** Every dead letter's id, task and last error (no payloads), for grouping by kind. */
export async function listDeadLetterErrors(db: Queryable): Promise<DeadLetterError[]> {
  const { rows } = await db.query<{ id: string; task: string; last_error: string | null; updated_at: Date }>(
    `select j.id, t.identifier as task, j.last_error, j.updated_at
       from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
      where j.attempts >= j.max_attempts and j.locked_at is null
      order by j.updated_at desc`,
  );
  return rows.map((r) => ({
    id: String(r.id),
    task: r.task,
    lastError: r.last_error,
    updatedAt: r.updated_at,
  }));
}

/** Dead letters per task, counted in the database (for /metrics, scraped often). */
export async function countDeadLettersByTask(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ task: string; n: string }>(
    `select t.identifier as task, count(*) as n
       from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
      where j.attempts >= j.max_attempts and j.locked_at is null
      group by t.identifier`,
  );
  return new Map(rows.map((r) => [r.task, Number(r.n)]));
}
