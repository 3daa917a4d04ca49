import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { REPLAY_CHECKPOINT } from '../../relay/src/intake.ts';
import type { RunningRelay } from '../../relay/src/relay.ts';
import { loadCheckpoint } from '../../relay/src/store/checkpoints.ts';
import { startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { opportunity, referralWrites, signInSeller } from '../support/seller.ts';
import type { Seller } from '../support/seller.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * Outbound sync across interruptions: the relay stopped while sellers work, the Pub/Sub stream
 * dropped mid-batch, the stored replay id expired. One system and one set of 100 synced
 * Opportunities for the file; the tests run in order, each restarting the relay as it needs.
 */

const COUNT = 100;
let system: TestSystem;
let seller: Seller;
let relay: RunningRelay;
/** Opportunity id → referral id. */
const pairs = new Map<string, string>();

before(async () => {
  system = await startTestSystem();
  relay = system.relay;
  seller = await signInSeller(system.sandboxes);
  const accounts = await seller.connection.sobject('Account').create(
    Array.from({ length: COUNT }, (_, i) => ({
      Name: `Customer ${i}`,
      BillingCountry: 'DE',
      BillingCity: 'Berlin',
    })),
    { allOrNone: true },
  );
  const created = await seller.connection.sobject('Opportunity').create(
    accounts.map((a, i) => ({
      Name: `Deal ${i}`,
      AccountId: a.id,
      Amount: 1000 + i,
      CloseDate: '2026-10-31',
      StageName: 'Qualification',
      Partner_Center_Solutions__c: 'SOL-34104-EBB',
      Sync_with_Partner_Center__c: true,
    })),
    { allOrNone: true },
  );
  const ids = created.map((c) => c.id as string);
  await waitFor(
    () => ids.every((id) => opportunity(system.sandboxes, id).Referral_Sync_Status__c === 'Synced'),
    { timeoutMs: 30_000, message: `${COUNT} referrals created` },
  );
  for (const id of ids) pairs.set(id, opportunity(system.sandboxes, id).Referral_Identifier__c as string);
  await settled();
});
after(() => system.stop());

async function settled(): Promise<void> {
  await waitFor(() => system.sandboxes.partnerCenter.deliveries.list().every((d) => d.state !== 'pending'), {
    timeoutMs: 30_000,
    message: 'webhook deliveries to finish',
  });
  await waitFor(
    async () => {
      const { jobs } = await relay.operations.status();
      return jobs.queued === 0 && jobs.running === 0 && jobs.retrying === 0;
    },
    { timeoutMs: 30_000, message: 'the queue to drain' },
  );
}

const dealValue = (referralId: string) =>
  (system.sandboxes.partnerCenter.referrals.get(referralId)?.details as Record<string, unknown>).dealValue;

/** Each Opportunity's new Amount, sent as one mass edit (one sObject Collections call, 100 events). */
async function editAll(amount: (i: number) => number): Promise<Map<string, number>> {
  const expected = new Map<string, number>();
  [...pairs.keys()].forEach((id, i) => expected.set(pairs.get(id)!, amount(i)));
  await seller.updateMany([...pairs.keys()].map((id, i) => ({ Id: id, Amount: amount(i) })));
  return expected;
}

/** Waits for every referral to carry its expected deal value, then checks each got exactly one PATCH since `since`. */
async function assertEachReachedOnce(expected: Map<string, number>, since: number): Promise<void> {
  await waitFor(() => [...expected].every(([referralId, value]) => dealValue(referralId) === value), {
    timeoutMs: 30_000,
    message: 'every change in Partner Center',
  });
  await settled();
  const patches = new Map<string, number>();
  for (const write of referralWrites(system.sandboxes).filter((w) => w.at >= since)) {
    assert.ok(write.route.startsWith('PATCH'), `only PATCHes, saw ${write.route}`);
    patches.set(write.referralId!, (patches.get(write.referralId!) ?? 0) + 1);
  }
  const twice = [...patches].filter(([, n]) => n !== 1);
  assert.deepEqual(twice, [], 'no referral written twice');
  assert.equal(patches.size, expected.size, 'every referral written');
}

test('changes made while the relay is down all reach Partner Center after restart, from the stored replay id, none twice', async () => {
  const stored = await loadCheckpoint(relay.database.pool, REPLAY_CHECKPOINT);
  assert.ok(stored && stored.length > 0, 'a replay id is stored');
  await relay.stop();
  const delivered = system.sandboxes.pubsub.counters.eventsDelivered;
  const since = Date.now();

  const expected = await editAll((i) => 5000 + i);
  // A second edit to some of them while still down: one job per Opportunity, one PATCH.
  await seller.updateMany(
    [...pairs.keys()]
      .slice(0, 20)
      .map((id) => ({ Id: id, Description: 'Edited twice while the relay was down' })),
  );

  relay = await system.startAnotherRelay();
  await assertEachReachedOnce(expected, since);
  // Resumed right after the stored position: only the events published while down were delivered again.
  assert.equal(
    system.sandboxes.pubsub.counters.eventsDelivered - delivered,
    COUNT + 20,
    'no event before the stored replay id replayed',
  );
  for (const id of [...pairs.keys()].slice(0, 20)) {
    assert.equal(
      (system.sandboxes.partnerCenter.referrals.get(pairs.get(id)!)?.details as Record<string, unknown>)
        .notes,
      'Edited twice while the relay was down',
    );
  }
});

test('a stream dropped by the server in the middle of a batch resumes without losing or repeating a change', async () => {
  const dropped = system.sandboxes.pubsub.counters.droppedStreams;
  const subscribes = system.sandboxes.pubsub.counters.subscribeCalls;
  const since = Date.now();
  system.sandboxes.pubsub.faults.dropStreamMidBatch(37);

  const expected = await editAll((i) => 7000 + i);
  await assertEachReachedOnce(expected, since);
  assert.equal(system.sandboxes.pubsub.counters.droppedStreams, dropped + 1, 'the stream was dropped once');
  assert.ok(system.sandboxes.pubsub.counters.subscribeCalls > subscribes, 'the relay subscribed again');
});

test('an expired replay id makes the relay resubscribe as configured (LATEST) and reconcile, losing no change', async () => {
  await relay.stop();
  const since = Date.now();
  const expected = await editAll((i) => 9000 + i);
  system.sandboxes.pubsub.faults.expireReplayIds();

  relay = await system.startAnotherRelay({ SF_REPLAY_ON_CORRUPT: 'LATEST' });
  const reset = await waitFor(
    async () =>
      (await relay.operations.listAudit({ level: 'ERROR' })).find((a) =>
        /replay id was no longer valid/.test(a.message),
      ),
    { message: 'the replay reset in the audit' },
  );
  assert.match(reset.message, /resubscribed from LATEST and started a reconcile/);
  await assertEachReachedOnce(expected, since);
});
