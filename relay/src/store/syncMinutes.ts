import type { Queryable } from './transaction.ts';
import type { MinuteCounts, SyncDirection } from '../syncRollup.ts';

/** Adds per-minute counts to what is stored (other instances add theirs to the same rows). */
export async function addSyncMinutes(db: Queryable, entries: readonly MinuteCounts[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `insert into cosell.sync_minutes as m (minute, direction, syncs, errors, latency_buckets)
     select e.minute, e.direction, e.syncs, e.errors, array(select jsonb_array_elements_text(e.buckets)::int)
       from jsonb_to_recordset($1::jsonb) as e(minute timestamptz, direction text, syncs int, errors int, buckets jsonb)
     on conflict (minute, direction) do update set
       syncs = m.syncs + excluded.syncs,
       errors = m.errors + excluded.errors,
       latency_buckets = array(
         select coalesce(a, 0) + coalesce(b, 0)
           from unnest(m.latency_buckets, excluded.latency_buckets) as t(a, b))`,
    [
      JSON.stringify(
        entries.map((e) => ({
          minute: e.minute.toISOString(),
          direction: e.direction,
          syncs: e.syncs,
          errors: e.errors,
          buckets: e.latencyBuckets,
        })),
      ),
    ],
  );
}

export async function readSyncMinutes(db: Queryable, since: Date): Promise<MinuteCounts[]> {
  const { rows } = await db.query<{
    minute: Date;
    direction: SyncDirection;
    syncs: number;
    errors: number;
    latency_buckets: number[];
  }>(
    'select minute, direction, syncs, errors, latency_buckets from cosell.sync_minutes where minute >= $1 order by minute',
    [since],
  );
  return rows.map((r) => ({
    minute: r.minute,
    direction: r.direction,
    syncs: r.syncs,
    errors: r.errors,
    latencyBuckets: r.latency_buckets,
  }));
}

export async function pruneSyncMinutes(db: Queryable, before: Date): Promise<void> {
  await db.query('delete from cosell.sync_minutes where minute < $1', [before]);
}
