import type { Queryable } from './transaction.ts';

/** Stores a named position as raw bytes (Pub/Sub replay ids are opaque and must not be converted). */
export async function saveCheckpoint(db: Queryable, name: string, value: Buffer): Promise<void> {
  await db.query(
    `insert into cosell.checkpoints (name, value) values ($1, $2)
     on conflict (name) do update set value = excluded.value, updated_at = now()`,
    [name, value],
  );
}

export async function loadCheckpoint(db: Queryable, name: string): Promise<Buffer | null> {
  const { rows } = await db.query<{ value: Buffer }>('select value from cosell.checkpoints where name = $1', [
    name,
  ]);
  return rows[0]?.value ?? null;
}

export async function loadCheckpointInfo(
  db: Queryable,
  name: string,
): Promise<{ value: Buffer; updatedAt: Date } | null> {
  const { rows } = await db.query<{ value: Buffer; updated_at: Date }>(
    'select value, updated_at from cosell.checkpoints where name = $1',
    [name],
  );
  return rows[0] ? { value: rows[0].value, updatedAt: rows[0].updated_at } : null;
}

export async function deleteCheckpoint(db: Queryable, name: string): Promise<void> {
  await db.query('delete from cosell.checkpoints where name = $1', [name]);
}
