import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase } from '../../../tests/support/postgres.ts';
import { findLinkByOpportunity, findLinkByReferral, saveLink } from './links.ts';
import { migrate } from './migrate.ts';
import {
  beginSalesforceWrite,
  endSalesforceWrite,
  learnSalesforceWriteCount,
  snapshotIncludesRelayWrites,
} from './salesforceWrites.ts';
import type { SalesforceWriteState } from './salesforceWrites.ts';

let pool: pg.Pool;
let n = 0;
before(async () => {
  pool = new pg.Pool({ connectionString: await createTestDatabase('sfwrites') });
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
const stateOf = async (opportunityId: string): Promise<SalesforceWriteState> =>
  (await findLinkByOpportunity(pool, opportunityId))!.salesforceWrites;

test('an answered update adds one to a known count; a pending write makes snapshots unusable until answered', async () => {
  const opportunityId = await pairedLink(2);
  const key = { opportunityId };
  const begun = await beginSalesforceWrite(pool, key);
  assert.deepEqual(begun, { seq: 1, alone: true });
  const during = await stateOf(opportunityId);
  assert.equal(during.pending, 1);
  assert.equal(snapshotIncludesRelayWrites(during, 2), false, 'a write in flight may land after the save');
  assert.equal(snapshotIncludesRelayWrites(during, 3), false);

  await endSalesforceWrite(pool, key, begun!, 'updated');
  const done = await stateOf(opportunityId);
  assert.deepEqual({ pending: done.pending, landed: done.landed }, { pending: 0, landed: 3 });
  assert.equal(snapshotIncludesRelayWrites(done, 3), true, 'a save after the third write');
  assert.equal(snapshotIncludesRelayWrites(done, 2), false, 'a save before it is stale');
});

test('a failed write makes the count unknown, and a query taken while quiet makes it known again', async () => {
  const opportunityId = await pairedLink(2);
  const key = { opportunityId };
  const begun = await beginSalesforceWrite(pool, key);
  await endSalesforceWrite(pool, key, begun!, 'failed');
  const failed = await stateOf(opportunityId);
  assert.equal(failed.landed, null, 'the record may or may not have been saved');
  assert.equal(snapshotIncludesRelayWrites(failed, 2), false);
  assert.equal(snapshotIncludesRelayWrites(failed, 3), false);

  assert.equal(await learnSalesforceWriteCount(pool, opportunityId, failed, 3), true);
  assert.equal((await stateOf(opportunityId)).landed, 3);
});

test('a query is not trusted for the count when a write was in flight or began meanwhile', async () => {
  const opportunityId = await pairedLink(null);
  const key = { opportunityId };
  const first = await beginSalesforceWrite(pool, key);
  const inFlight = await stateOf(opportunityId);
  await endSalesforceWrite(pool, key, first!, 'updated');
  // The write was in flight when the query started: the count read may or may not include it.
  assert.equal(await learnSalesforceWriteCount(pool, opportunityId, inFlight, 5), false);

  const quiet = await stateOf(opportunityId);
  const second = await beginSalesforceWrite(pool, key);
  // A write began after the query started.
  assert.equal(await learnSalesforceWriteCount(pool, opportunityId, quiet, 5), false);
  await endSalesforceWrite(pool, key, second!, 'updated');
  assert.equal((await stateOf(opportunityId)).landed, null);
});

test('a write left pending by a dead process stops blocking once it is old, through a fresh query', async () => {
  const opportunityId = await pairedLink(4);
  await beginSalesforceWrite(pool, { opportunityId });
  await pool.query(
    `update cosell.links set sf_write_started_at = now() - interval '11 minutes' where opportunity_id = $1`,
    [opportunityId],
  );
  const stuck = await stateOf(opportunityId);
  assert.equal(snapshotIncludesRelayWrites(stuck, 4), false);
  assert.equal(await learnSalesforceWriteCount(pool, opportunityId, stuck, 5), true);
  const state = await stateOf(opportunityId);
  assert.deepEqual({ pending: state.pending, landed: state.landed }, { pending: 0, landed: 5 });
});

test('two writes in flight together: neither is "alone", and the count stays exact once both answer', async () => {
  const opportunityId = await pairedLink(1);
  const key = { opportunityId };
  const a = await beginSalesforceWrite(pool, key);
  const b = await beginSalesforceWrite(pool, key);
  assert.equal(b!.alone, false);
  await endSalesforceWrite(pool, key, b!, 'updated');
  assert.equal(snapshotIncludesRelayWrites(await stateOf(opportunityId), 2), false, 'a is still pending');
  await endSalesforceWrite(pool, key, a!, 'updated');
  assert.equal(snapshotIncludesRelayWrites(await stateOf(opportunityId), 3), true);
});

test('a create makes the count 1 only when the write was alone from start to end', async () => {
  const created = { referralId: 'ref-create-alone' };
  const begun = await beginSalesforceWrite(pool, created, { createLink: true });
  assert.deepEqual(begun, { seq: 1, alone: true }, 'the link is made for the new pair');
  await endSalesforceWrite(pool, created, begun!, 'created');
  assert.equal((await findLinkByReferral(pool, created.referralId))!.salesforceWrites.landed, 1);

  const crossed = { referralId: 'ref-create-crossed' };
  const mine = await beginSalesforceWrite(pool, crossed, { createLink: true });
  const other = await beginSalesforceWrite(pool, crossed, { createLink: true });
  await endSalesforceWrite(pool, crossed, other!, 'updated');
  await endSalesforceWrite(pool, crossed, mine!, 'created');
  assert.equal((await findLinkByReferral(pool, crossed.referralId))!.salesforceWrites.landed, null);
});

test('an unlinked record is not tracked', async () => {
  assert.equal(await beginSalesforceWrite(pool, { opportunityId: '006Sb0000000099AAA' }), null);
  assert.equal(await findLinkByOpportunity(pool, '006Sb0000000099AAA'), null, 'and no link is made for it');
});

test('a snapshot without a count is a record the relay never wrote', () => {
  const state: SalesforceWriteState = { seq: 0, pending: 0, startedAt: null, landed: 0 };
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
  await beginSalesforceWrite(pool, key, { pendingValues: { notes: 'n2', name: 'a' } });
  // The next inbound write finds n2 on the record (agreedSoFar) and starts with its own values.
  await beginSalesforceWrite(pool, key, {
    pendingValues: { notes: 'n3', name: 'a' },
    agreedValues: { notes: 'n2', name: 'a' },
  });
  let link = (await findLinkByOpportunity(pool, opportunityId))!;
  assert.deepEqual(link.outboundValues, { notes: 'n2', name: 'a' }, 'n2 stays agreed if this write fails');
  assert.deepEqual(link.pendingValues, { notes: 'n3', name: 'a' });
  // A write with no agreement to add keeps the saved one.
  await beginSalesforceWrite(pool, key, { pendingValues: { notes: 'n4', name: 'a' } });
  link = (await findLinkByOpportunity(pool, opportunityId))!;
  assert.deepEqual(link.outboundValues, { notes: 'n2', name: 'a' });
  assert.deepEqual(link.pendingValues, { notes: 'n4', name: 'a' });
});
