import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase } from '../../../tests/support/postgres.ts';
import { findLinkByOpportunity, findLinkByReferral, saveLink } from './links.ts';
import { migrate } from './migrate.ts';
import {
  beginDealWrite,
  endDealWrite,
  learnDealWriteCount,
  snapshotIncludesRelayWrites,
} from './dealWrites.ts';
import type { DealWriteState } from './dealWrites.ts';

let pool: pg.Pool;
let n = 0;
before(async () => {
  pool = new pg.Pool({ connectionString: await createTestDatabase('dealwrites') });
  await migrate(pool);
});
after(() => pool.end());

/** A link for a paired Opportunity whose count of relay writes is known to be `landed`. */
async function pairedLink(landed: number | null = 2): Promise<string> {
  const opportunityId = `006Sb00000000${String(++n).padStart(2, '0')}AAA`;
  await saveLink(pool, { opportunityId }, { referralId: `ref-${n}` });
  await pool.query('update cosell.links set sf_writes_landed = $2 where opportunity_id = $1', [
    opportunityId,
    landed,
  ]);
  return opportunityId;
}
const stateOf = async (opportunityId: string): Promise<DealWriteState> =>
  (await findLinkByOpportunity(pool, opportunityId))!.dealWrites;

test('an answered update adds one to a known count; a pending write makes snapshots unusable until answered', async () => {
  const opportunityId = await pairedLink(2);
  const key = { opportunityId };
  const begun = await beginDealWrite(pool, key);
  assert.deepEqual(begun, { seq: 1, alone: true });
  const during = await stateOf(opportunityId);
  assert.equal(during.pending, 1);
  assert.equal(snapshotIncludesRelayWrites(during, 2), false, 'a write in flight may land after the save');
  assert.equal(snapshotIncludesRelayWrites(during, 3), false);

  await endDealWrite(pool, key, begun!, 'updated');
  const done = await stateOf(opportunityId);
  assert.deepEqual({ pending: done.pending, landed: done.landed }, { pending: 0, landed: 3 });
  assert.equal(snapshotIncludesRelayWrites(done, 3), true, 'a save after the third write');
  assert.equal(snapshotIncludesRelayWrites(done, 2), false, 'a save before it is stale');
});

test('a failed write makes the count unknown, and a query taken while quiet makes it known again', async () => {
  const opportunityId = await pairedLink(2);
  const key = { opportunityId };
  const begun = await beginDealWrite(pool, key);
  await endDealWrite(pool, key, begun!, 'failed');
  const failed = await stateOf(opportunityId);
  assert.equal(failed.landed, null, 'the record may or may not have been saved');
  assert.equal(snapshotIncludesRelayWrites(failed, 2), false);
  assert.equal(snapshotIncludesRelayWrites(failed, 3), false);

  assert.equal(await learnDealWriteCount(pool, opportunityId, failed, 3), true);
  assert.equal((await stateOf(opportunityId)).landed, 3);
});

test('a query is not trusted for the count when a write was in flight or began meanwhile', async () => {
  const opportunityId = await pairedLink(null);
  const key = { opportunityId };
  const first = await beginDealWrite(pool, key);
  const inFlight = await stateOf(opportunityId);
  await endDealWrite(pool, key, first!, 'updated');
  // The write was in flight when the query started: the count read may or may not include it.
  assert.equal(await learnDealWriteCount(pool, opportunityId, inFlight, 5), false);

  const quiet = await stateOf(opportunityId);
  const second = await beginDealWrite(pool, key);
  // A write began after the query started.
  assert.equal(await learnDealWriteCount(pool, opportunityId, quiet, 5), false);
  await endDealWrite(pool, key, second!, 'updated');
  assert.equal((await stateOf(opportunityId)).landed, null);
});

test('a write left pending by a dead process stops blocking once it is old, through a fresh query', async () => {
  const opportunityId = await pairedLink(4);
  await beginDealWrite(pool, { opportunityId });
  await pool.query(
    `update cosell.links set sf_write_started_at = now() - interval '11 minutes' where opportunity_id = $1`,
    [opportunityId],
  );
  const stuck = await stateOf(opportunityId);
  assert.equal(snapshotIncludesRelayWrites(stuck, 4), false);
  assert.equal(await learnDealWriteCount(pool, opportunityId, stuck, 5), true);
  const state = await stateOf(opportunityId);
  assert.deepEqual({ pending: state.pending, landed: state.landed }, { pending: 0, landed: 5 });
});

test('two writes in flight together: neither is "alone", and the count stays exact once both answer', async () => {
  const opportunityId = await pairedLink(1);
  const key = { opportunityId };
  const a = await beginDealWrite(pool, key);
  const b = await beginDealWrite(pool, key);
  assert.equal(b!.alone, false);
  await endDealWrite(pool, key, b!, 'updated');
  assert.equal(snapshotIncludesRelayWrites(await stateOf(opportunityId), 2), false, 'a is still pending');
  await endDealWrite(pool, key, a!, 'updated');
  assert.equal(snapshotIncludesRelayWrites(await stateOf(opportunityId), 3), true);
});

test('a create makes the count 1 only when the write was alone from start to end', async () => {
  const created = { referralId: 'ref-create-alone' };
  const begun = await beginDealWrite(pool, created, { createLink: true });
  assert.deepEqual(begun, { seq: 1, alone: true }, 'the link is made for the new pair');
  await endDealWrite(pool, created, begun!, 'created');
  assert.equal((await findLinkByReferral(pool, created.referralId))!.dealWrites.landed, 1);

  const crossed = { referralId: 'ref-create-crossed' };
  const mine = await beginDealWrite(pool, crossed, { createLink: true });
  const other = await beginDealWrite(pool, crossed, { createLink: true });
  await endDealWrite(pool, crossed, other!, 'updated');
  await endDealWrite(pool, crossed, mine!, 'created');
  assert.equal((await findLinkByReferral(pool, crossed.referralId))!.dealWrites.landed, null);
});

test('an unlinked record is not tracked', async () => {
  assert.equal(await beginDealWrite(pool, { opportunityId: '006Sb0000000099AAA' }), null);
  assert.equal(await findLinkByOpportunity(pool, '006Sb0000000099AAA'), null, 'and no link is made for it');
});

test('a snapshot without a count is a record the relay never wrote', () => {
  const state: DealWriteState = { seq: 0, pending: 0, startedAt: null, landed: 0 };
  assert.equal(snapshotIncludesRelayWrites(state, null), true);
  assert.equal(snapshotIncludesRelayWrites(state, undefined), true);
  assert.equal(snapshotIncludesRelayWrites(state, 'zero'), false);
  assert.equal(snapshotIncludesRelayWrites({ ...state, landed: null }, null), false);
});

test("a write's pending values replace an unfinished one's only after what landed of those is saved as agreed", async () => {
  const opportunityId = await pairedLink(2);
  const key = { opportunityId };
  await saveLink(pool, key, { outboundValues: { notes: 'n1', name: 'a' } });
  // A write that a kill cut off after it landed: its values stay pending, never agreed.
  await beginDealWrite(pool, key, { pendingValues: { notes: 'n2', name: 'a' } });
  // The next inbound write finds n2 on the record (agreedSoFar) and starts with its own values.
  await beginDealWrite(pool, key, {
    pendingValues: { notes: 'n3', name: 'a' },
    agreedValues: { notes: 'n2', name: 'a' },
  });
  let link = (await findLinkByOpportunity(pool, opportunityId))!;
  assert.deepEqual(link.outboundValues, { notes: 'n2', name: 'a' }, 'n2 stays agreed if this write fails');
  assert.deepEqual(link.pendingValues, { notes: 'n3', name: 'a' });
  // A write with no agreement to add keeps the saved one.
  await beginDealWrite(pool, key, { pendingValues: { notes: 'n4', name: 'a' } });
  link = (await findLinkByOpportunity(pool, opportunityId))!;
  assert.deepEqual(link.outboundValues, { notes: 'n2', name: 'a' });
  assert.deepEqual(link.pendingValues, { notes: 'n4', name: 'a' });
});
