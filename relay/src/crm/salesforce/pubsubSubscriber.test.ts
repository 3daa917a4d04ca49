import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../../tests/support/waitFor.ts';
import { silentLogger } from '../../logger.ts';
import { createPubSubSubscriber } from './pubsubSubscriber.ts';
import type {
  DecodedEvent,
  PubSubSubscriber,
  PubSubSubscriberOptions,
  UndecodableEvent,
} from './pubsubSubscriber.ts';
import {
  AUTH,
  SELLER_ID,
  TOPIC,
  acceptToken,
  opportunityEvent,
  startSandbox,
} from '../../../sandbox/salesforce/pubsub/testSupport.ts';
import type { PubSubSandbox } from '../../../sandbox/salesforce/pubsub/pubsubSandbox.ts';

/**
 * Stands in for the relay's Postgres: `onBatch` "commits" the events and the replay id together,
 * so `committed` and `replayId` always agree, as they do in the one-transaction commit.
 */
function createStore() {
  const store = {
    replayId: null as Buffer | null,
    committed: [] as DecodedEvent[],
    attempts: [] as DecodedEvent[][],
    keepalives: 0,
    failNextBatch: false,
    gate: null as Promise<void> | null,
    async onBatch(events: DecodedEvent[], replayId: Buffer): Promise<void> {
      if (events.length === 0) store.keepalives += 1;
      else store.attempts.push(events);
      if (store.gate) await store.gate;
      if (events.length > 0 && store.failNextBatch) {
        store.failNextBatch = false;
        throw new Error('database unavailable');
      }
      store.committed.push(...events);
      store.replayId = replayId;
    },
    loadReplayId: async () => store.replayId,
    opportunityIds: () => store.committed.map((event) => event.payload.Opportunity_Id__c),
  };
  return store;
}

function subscriberFor(
  sandbox: PubSubSandbox,
  store: ReturnType<typeof createStore>,
  overrides: Partial<PubSubSubscriberOptions> = {},
): PubSubSubscriber {
  return createPubSubSubscriber({
    endpoint: sandbox.endpoint,
    topic: TOPIC,
    tls: true,
    caPem: sandbox.caPem,
    getAuth: async () => AUTH,
    refreshAuth: async () => undefined,
    batchSize: 10,
    loadReplayId: store.loadReplayId,
    onBatch: store.onBatch,
    onReplayReset: async () => undefined,
    replayOnCorrupt: 'EARLIEST',
    backoff: { initialMs: 5, maxMs: 50 },
    logger: silentLogger(),
    ...overrides,
  });
}

const ids = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => String(opportunityEvent(from + i).Opportunity_Id__c));

test('hands in-process events to onBatch decoded, in order, with their replay ids', async (t) => {
  const sandbox = await startSandbox();
  const store = createStore();
  const subscriber = subscriberFor(sandbox, store);
  t.after(async () => {
    await subscriber.stop();
    await sandbox.close();
  });
  subscriber.start();
  await waitFor(() => sandbox.counters.activeSubscriptions === 1 && sandbox.counters.fetchRequests >= 1, {
    message: 'subscribed',
  });

  const published = [1, 2, 3].map((n) => sandbox.publish(TOPIC, opportunityEvent(n)));
  await waitFor(() => store.committed.length === 3, { message: 'three events committed' });

  assert.deepEqual(store.opportunityIds(), ids(1, 4));
  const first = store.committed[0];
  assert.equal(first.eventId, published[0].eventId);
  assert.deepEqual(first.replayId, published[0].replayId);
  assert.equal(first.schemaId, sandbox.schemaFor(TOPIC).schemaId);
  assert.equal(first.payload.Change_Kind__c, 'Updated');
  assert.equal(first.payload.Changed_By__c, SELLER_ID);
  assert.equal(first.payload.CreatedById, SELLER_ID);
  assert.equal(typeof first.payload.CreatedDate, 'number');
  assert.deepEqual(store.replayId, published[2].replayId);

  const stats = subscriber.stats();
  assert.equal(stats.connected, true);
  assert.equal(stats.received, 3);
  assert.equal(stats.lastReplayId, published[2].replayId.toString('hex'));
  assert.ok(stats.lagMs !== null && stats.lagMs >= 0);
  assert.ok(stats.lastEventAt !== null);
});

test('tops up requests so pending never reaches zero while events flow', async (t) => {
  const sandbox = await startSandbox();
  const store = createStore();
  const subscriber = subscriberFor(sandbox, store, { batchSize: 10 });
  t.after(async () => {
    await subscriber.stop();
    await sandbox.close();
  });
  subscriber.start();
  await waitFor(() => sandbox.counters.fetchRequests >= 1, { message: 'subscribed' });

  // Bursts smaller than the window: a client that waits for pending 0 before asking again lets
  // the fourth burst find only one event requested.
  for (let burst = 0; burst < 10; burst += 1) {
    for (let n = 0; n < 3; n += 1) sandbox.publish(TOPIC, opportunityEvent(burst * 3 + n));
    await waitFor(() => store.committed.length === (burst + 1) * 3, { message: `burst ${burst} committed` });
  }
  assert.deepEqual(store.opportunityIds(), ids(0, 30));
  assert.equal(sandbox.counters.eventsDelivered, 30);
  assert.equal(sandbox.counters.responsesWithZeroPending, 0);
  assert.ok(sandbox.counters.fetchRequests > 1, 'the subscriber asked for more as events arrived');
});

test('after a drop mid-batch, resubscribes from the committed replay id with nothing lost or repeated', async (t) => {
  const sandbox = await startSandbox();
  const store = createStore();
  t.after(() => sandbox.close());

  const warmup = subscriberFor(sandbox, store);
  warmup.start();
  await waitFor(() => sandbox.counters.fetchRequests >= 1, { message: 'subscribed' });
  sandbox.publish(TOPIC, opportunityEvent(0));
  await waitFor(() => store.committed.length === 1, { message: 'the first event committed' });
  await warmup.stop();

  // Ten events wait on the bus; the next stream gets three of them in one response and then dies
  // while the subscriber is still committing those three.
  for (let n = 1; n <= 10; n += 1) sandbox.publish(TOPIC, opportunityEvent(n));
  sandbox.faults.dropStreamMidBatch(3);
  let release = (): void => undefined;
  store.gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const subscriber = subscriberFor(sandbox, store);
  t.after(() => {
    release();
    return subscriber.stop();
  });
  subscriber.start();
  await waitFor(() => sandbox.counters.droppedStreams === 1 && store.attempts.length === 2, {
    message: 'the drop during a batch',
  });
  store.gate = null;
  release();

  await waitFor(() => store.committed.length === 11, { message: 'all events committed' });
  assert.deepEqual(store.opportunityIds(), ids(0, 11));
  assert.deepEqual(
    store.attempts.map((batch) => batch.length),
    [1, 3, 7],
    'the three sent before the drop are committed once; the resubscribe brings exactly the other seven',
  );
  assert.equal(subscriber.stats().reconnects, 1);
});

test('delivers again a batch whose commit failed, and only that batch', async (t) => {
  const sandbox = await startSandbox();
  const store = createStore();
  const subscriber = subscriberFor(sandbox, store);
  t.after(async () => {
    await subscriber.stop();
    await sandbox.close();
  });
  subscriber.start();
  await waitFor(() => sandbox.counters.fetchRequests >= 1, { message: 'subscribed' });
  sandbox.publish(TOPIC, opportunityEvent(1));
  await waitFor(() => store.committed.length === 1, { message: 'the first event committed' });

  store.failNextBatch = true;
  sandbox.publish(TOPIC, opportunityEvent(2));
  await waitFor(() => store.committed.length === 2, { message: 'the second event committed after a retry' });
  sandbox.publish(TOPIC, opportunityEvent(3));
  await waitFor(() => store.committed.length === 3, { message: 'the third event committed' });

  // At-least-once for the uncommitted tail: event 2 was handed over twice, committed once.
  assert.deepEqual(store.opportunityIds(), ids(1, 4));
  assert.deepEqual(
    store.attempts.map((batch) => batch.map((event) => event.payload.Opportunity_Id__c)),
    [ids(1, 2), ids(2, 3), ids(2, 3), ids(3, 4)],
  );
});

test('resubscribes per replayOnCorrupt and reports the reset when the stored replay id expired', async (t) => {
  const sandbox = await startSandbox();
  const store = createStore();
  t.after(() => sandbox.close());
  const first = subscriberFor(sandbox, store);
  first.start();
  await waitFor(() => sandbox.counters.fetchRequests >= 1, { message: 'subscribed' });
  sandbox.publish(TOPIC, opportunityEvent(1));
  await waitFor(() => store.committed.length === 1, { message: 'the first event committed' });
  await first.stop();

  sandbox.faults.expireReplayIds();
  sandbox.publish(TOPIC, opportunityEvent(2));
  const resets: string[] = [];
  const subscriber = subscriberFor(sandbox, store, {
    replayOnCorrupt: 'EARLIEST',
    onReplayReset: async (preset) => {
      resets.push(preset);
    },
  });
  t.after(() => subscriber.stop());
  subscriber.start();

  await waitFor(() => store.committed.length === 2, { message: 'the retained event after the reset' });
  assert.deepEqual(resets, ['EARLIEST']);
  assert.deepEqual(store.opportunityIds(), ids(1, 3));
  sandbox.publish(TOPIC, opportunityEvent(3));
  await waitFor(() => store.committed.length === 3, { message: 'the stream carries on' });
  assert.deepEqual(resets, ['EARLIEST']);
});

test('refreshes the session after an auth error and then subscribes', async (t) => {
  const validToken = 'token-2';
  const sandbox = await startSandbox({ authenticate: acceptToken(() => validToken) });
  const store = createStore();
  let current = 'token-1';
  let refreshes = 0;
  const subscriber = subscriberFor(sandbox, store, {
    getAuth: async () => ({ ...AUTH, accessToken: current }),
    refreshAuth: async () => {
      refreshes += 1;
      current = validToken;
    },
  });
  t.after(async () => {
    await subscriber.stop();
    await sandbox.close();
  });
  subscriber.start();
  await waitFor(() => sandbox.counters.fetchRequests >= 1, { message: 'subscribed after the refresh' });
  assert.equal(refreshes, 1);
  sandbox.publish(TOPIC, opportunityEvent(1));
  await waitFor(() => store.committed.length === 1, { message: 'an event with the fresh token' });
  assert.equal(refreshes, 1);
});

test('passes keepalive positions to onBatch so the stored replay id advances', async (t) => {
  const sandbox = await startSandbox({ keepaliveMs: 20 });
  const store = createStore();
  const subscriber = subscriberFor(sandbox, store);
  t.after(async () => {
    await subscriber.stop();
    await sandbox.close();
  });
  subscriber.start();
  await waitFor(() => store.keepalives >= 1 && store.replayId !== null, {
    message: 'a keepalive position stored',
  });
  assert.equal(store.committed.length, 0);
  assert.equal(subscriber.stats().lastReplayId, store.replayId?.toString('hex'));
});

test('stops cleanly: the stream closes, no batch starts afterwards, and stop during backoff returns', async (t) => {
  const sandbox = await startSandbox();
  const store = createStore();
  t.after(() => sandbox.close());
  const subscriber = subscriberFor(sandbox, store);
  subscriber.start();
  await waitFor(() => sandbox.counters.activeSubscriptions === 1 && sandbox.counters.fetchRequests >= 1, {
    message: 'subscribed',
  });
  await subscriber.stop();
  assert.equal(subscriber.stats().connected, false);
  await waitFor(() => sandbox.counters.activeSubscriptions === 0, {
    message: 'the server saw the stream end',
  });
  sandbox.publish(TOPIC, opportunityEvent(1));
  assert.equal(store.attempts.length, 0);

  const unreachable = createPubSubSubscriber({
    endpoint: '127.0.0.1:1',
    topic: TOPIC,
    tls: false,
    getAuth: async () => AUTH,
    refreshAuth: async () => undefined,
    batchSize: 10,
    loadReplayId: store.loadReplayId,
    onBatch: store.onBatch,
    onReplayReset: async () => undefined,
    replayOnCorrupt: 'LATEST',
    backoff: { initialMs: 60_000, maxMs: 60_000 },
    logger: silentLogger(),
  });
  unreachable.start();
  await waitFor(() => unreachable.stats().failures === 1, { message: 'the first attempt failed' });
  const started = Date.now();
  await unreachable.stop();
  assert.ok(Date.now() - started < 5_000, 'stop does not wait out the backoff');
});

test('rejects a batch size the platform would not honour', () => {
  assert.throws(
    () =>
      createPubSubSubscriber({
        endpoint: '127.0.0.1:1',
        topic: TOPIC,
        tls: false,
        getAuth: async () => AUTH,
        refreshAuth: async () => undefined,
        batchSize: 101,
        loadReplayId: async () => null,
        onBatch: async () => undefined,
        onReplayReset: async () => undefined,
        replayOnCorrupt: 'LATEST',
        backoff: { initialMs: 5, maxMs: 50 },
        logger: silentLogger(),
      }),
    /batchSize must be an integer from 1 to 100/,
  );
});

test('hands an event that does not decode to onBatch with its bytes, in the batch it came with', async (t) => {
  const sandbox = await startSandbox();
  const kept: UndecodableEvent[] = [];
  const store = createStore();
  const subscriber = subscriberFor(sandbox, store, {
    onBatch: async (events, replayId, undecodable) => {
      kept.push(...undecodable);
      await store.onBatch(events, replayId);
    },
  });
  t.after(async () => {
    await subscriber.stop();
    await sandbox.close();
  });
  subscriber.start();
  await waitFor(() => sandbox.counters.fetchRequests >= 1, { message: 'subscribed' });

  const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x42]);
  const broken = sandbox.publishBytes(TOPIC, garbage);
  sandbox.publish(TOPIC, opportunityEvent(7));
  await waitFor(() => store.committed.length === 1, { message: 'the next event committed' });

  assert.equal(kept.length, 1);
  assert.equal(kept[0].eventId, broken.eventId);
  assert.deepEqual(kept[0].replayId, broken.replayId);
  assert.deepEqual(kept[0].payload, garbage);
  assert.equal(kept[0].schemaId, sandbox.schemaFor(TOPIC).schemaId);
  assert.ok(kept[0].reason.length > 0);
  assert.equal(subscriber.stats().undecodable, 1);
  // The kept bytes are decoded again on request; a valid event's bytes decode.
  await assert.rejects(subscriber.decodeEvent(kept[0].schemaId, kept[0].payload));
  const valid = sandbox.schemaFor(TOPIC).type.toBuffer({
    ...Object.fromEntries(sandbox.schemaFor(TOPIC).fields.map((f) => [f.name, null])),
    ...opportunityEvent(8),
    CreatedDate: Date.now(),
  });
  assert.equal(
    (await subscriber.decodeEvent(kept[0].schemaId, valid)).Opportunity_Id__c,
    opportunityEvent(8).Opportunity_Id__c,
  );
});
