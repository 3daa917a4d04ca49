import type { Queryable } from './transaction.ts';

/**
 * The relay's own writes to each deal, counted on the link the way the CRM side counts them on the
 * record (the adapter's `writeCount` field: one per relay write, kept by the Salesforce trigger's
 * before-save half).
 *
 * Why: the change event carries a snapshot of the record as the seller saved it. The outbound job may
 * use it instead of querying the record only when no relay write landed after that save, or it could
 * send Partner Center values older than what the relay itself just wrote to Salesforce. With every
 * relay write answered (none pending) and the count known, a snapshot whose count equals the link's
 * was taken after the last of them. Anything uncertain (a failed or unanswered write, two writes
 * merged into one save, a write begun during a read) leaves the count unknown or different, which only
 * costs a query; the query then re-learns the count.
 *
 * The columns keep the `sf_write…` names of the release that added them (000002), so instances of
 * two releases share one database during a rolling deploy.
 */

export type WriteKey = { opportunityId: string } | { referralId: string };

export interface DealWriteState {
  /** Writes begun, ever. */
  seq: number;
  /** Writes begun and not yet answered. */
  pending: number;
  startedAt: Date | null;
  /** The record's write count as the relay knows it; null when unknown. */
  landed: number | null;
}

export interface BegunWrite {
  seq: number;
  /** No other write to the record was in flight when this one began. */
  alone: boolean;
}

export type WriteOutcome = 'updated' | 'created' | 'failed';

/** A write older than this is taken to have died with its process (no HTTP call lasts that long). */
export const ABANDONED_WRITE_MINUTES = 10;

function keyColumn(key: WriteKey): [string, string] {
  return 'opportunityId' in key ? ['opportunity_id', key.opportunityId] : ['referral_id', key.referralId];
}

/**
 * Records that a write to the linked record is about to be sent. With `createLink`, a missing link is
 * created (an inbound create, keyed by the referral); otherwise an unlinked record is not tracked and
 * null is returned.
 */
export interface BeginWriteOptions {
  createLink?: boolean;
  pendingValues?: Record<string, unknown>;
  /**
   * What both sides hold agreed now, counting an earlier unfinished write where it landed
   * (sync/canonical.ts agreedSoFar): saved with the new pending values, so replacing the old
   * ones does not forget what they made agreed.
   */
  agreedValues?: Record<string, unknown> | null;
}

export async function beginDealWrite(
  db: Queryable,
  key: WriteKey,
  options: BeginWriteOptions = {},
): Promise<BegunWrite | null> {
  const [column, value] = keyColumn(key);
  // The values this write is to make agreed (links.ts pendingValues); a write without any keeps
  // what an earlier unfinished one left.
  const begin = `sf_write_seq = links.sf_write_seq + 1, sf_writes_pending = links.sf_writes_pending + 1, sf_write_started_at = now(), pending_values = coalesce($2::jsonb, links.pending_values), outbound_values = coalesce($3::jsonb, links.outbound_values)`;
  const sql = options.createLink
    ? `insert into cosell.links as links (${column}, sf_write_seq, sf_writes_pending, sf_write_started_at, pending_values, outbound_values)
       values ($1, 1, 1, now(), $2::jsonb, $3::jsonb)
       on conflict (${column}) do update set ${begin}
       returning sf_write_seq, sf_writes_pending`
    : `update cosell.links as links set ${begin} where ${column} = $1 returning sf_write_seq, sf_writes_pending`;
  const pending = options.pendingValues ? JSON.stringify(options.pendingValues) : null;
  const agreed = options.agreedValues ? JSON.stringify(options.agreedValues) : null;
  const { rows } = await db.query<{ sf_write_seq: string; sf_writes_pending: number }>(sql, [
    value,
    pending,
    agreed,
  ]);
  return rows[0] ? { seq: Number(rows[0].sf_write_seq), alone: rows[0].sf_writes_pending === 1 } : null;
}

/**
 * Records a write's answer. An update adds one to a known count. A create makes the count exactly 1
 * when the write was alone from start to end (no write could have landed on the new record before
 * it or during it). A failure makes the count unknown: the record may or may not have been saved.
 */
export async function endDealWrite(
  db: Queryable,
  key: WriteKey,
  begun: BegunWrite,
  outcome: WriteOutcome,
): Promise<void> {
  const [column, value] = keyColumn(key);
  await db.query(
    `update cosell.links set
       sf_writes_pending = greatest(sf_writes_pending - 1, 0),
       sf_writes_landed = case
         when $2 = 'failed' then null
         when $2 = 'created' and $4 and sf_write_seq = $3 and sf_writes_pending = 1 then 1
         when $2 = 'created' then null
         else sf_writes_landed + 1
       end
     where ${column} = $1`,
    [value, outcome, begun.seq, begun.alone],
  );
}

/**
 * After a query of the record: its write count becomes the known count, provided no write was
 * in flight when the query started (`before`, read from the link just before it) and none began since.
 */
export async function learnDealWriteCount(
  db: Queryable,
  opportunityId: string,
  before: DealWriteState,
  count: number,
): Promise<boolean> {
  const abandonedBefore = Date.now() - ABANDONED_WRITE_MINUTES * 60_000;
  const quiet =
    before.pending === 0 || (before.startedAt !== null && before.startedAt.getTime() < abandonedBefore);
  if (!quiet || !Number.isSafeInteger(count) || count < 0) return false;
  const { rowCount } = await db.query(
    `update cosell.links set sf_writes_landed = $2, sf_writes_pending = 0
     where opportunity_id = $1 and sf_write_seq = $3
       and (sf_writes_pending = 0 or sf_write_started_at < now() - make_interval(mins => $4))`,
    [opportunityId, count, before.seq, ABANDONED_WRITE_MINUTES],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Whether a record snapshot carrying `count` (its write count) already includes every relay
 * write: all of them answered, the count known, and equal.
 */
export function snapshotIncludesRelayWrites(state: DealWriteState, count: unknown): boolean {
  const value = count === null || count === undefined ? 0 : Number(count);
  return (
    state.pending === 0 && state.landed !== null && Number.isSafeInteger(value) && value === state.landed
  );
}
