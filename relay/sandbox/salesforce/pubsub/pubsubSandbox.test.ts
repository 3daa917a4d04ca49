import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { waitFor } from '../../../../tests/support/waitFor.ts';
import { authMetadata, PUBSUB_ERROR_CODES } from '../../../src/crm/salesforce/pubsubProto.ts';
import type { PublishResponse, SchemaInfo, TopicInfo } from '../../../src/crm/salesforce/pubsubProto.ts';
import { parseSchema } from '../../../src/crm/salesforce/avro.ts';
import {
  AUTH,
  ORG_ID,
  TOPIC,
  errorCodeOf,
  opportunityEvent,
  rawClient,
  rawSubscribe,
  startSandbox,
  unaryCall,
} from './testSupport.ts';

test('serves the Referral_Sync__e topic with an Avro schema built from the package fields', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });

  const topic = await unaryCall<TopicInfo>((cb) =>
    client.GetTopic({ topic_name: TOPIC }, authMetadata(AUTH), cb),
  );
  assert.equal(topic.tenant_guid, ORG_ID);
  assert.equal(topic.can_subscribe, true);
  const info = await unaryCall<SchemaInfo>((cb) =>
    client.GetSchema({ schema_id: topic.schema_id }, authMetadata(AUTH), cb),
  );
  const schema = JSON.parse(info.schema_json) as {
    name: string;
    namespace: string;
    fields: Array<{ name: string; type: unknown }>;
  };
  assert.equal(schema.name, 'Referral_Sync__e');
  assert.equal(schema.namespace, 'com.sforce.eventbus');
  const types = Object.fromEntries(schema.fields.map((field) => [field.name, field.type]));
  assert.deepEqual(types, {
    CreatedDate: 'long',
    CreatedById: 'string',
    Change_Kind__c: ['null', 'string'],
    Changed_By__c: ['null', 'string'],
    Changed_Fields__c: ['null', 'string'],
    Opportunity_Id__c: 'string',
    Record_Snapshot__c: ['null', 'string'],
  });

  const again = await startSandbox();
  t.after(() => again.close());
  assert.equal(again.schemaFor(TOPIC).schemaId, topic.schema_id, 'the schema id is a stable fingerprint');
});

test('publishes over gRPC with replay ids and correlation keys, and refuses an unknown topic', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  const schema = sandbox.schemaFor(TOPIC);
  const payload = schema.type.toBuffer({
    CreatedDate: Date.now(),
    Changed_Fields__c: null,
    Change_Kind__c: null,
    Changed_By__c: null,
    ...opportunityEvent(1),
  });

  const response = await unaryCall<PublishResponse>((cb) =>
    client.Publish(
      { topic_name: TOPIC, events: [{ id: 'evt-1', schema_id: schema.schemaId, payload, headers: [] }] },
      authMetadata(AUTH),
      cb,
    ),
  );
  assert.equal(response.results.length, 1);
  assert.equal(response.results[0].correlation_key, 'evt-1');
  assert.equal(response.results[0].replay_id.length, 8);
  assert.equal(response.results[0].error, null);

  await assert.rejects(
    unaryCall((cb) => client.Publish({ topic_name: '/event/Nope__e', events: [] }, authMetadata(AUTH), cb)),
    (error: grpc.ServiceError) => error.code === grpc.status.NOT_FOUND,
  );
});

test('rejects a bad token with UNAUTHENTICATED and the auth error-code trailer', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  const stream = rawSubscribe(client, { ...AUTH, accessToken: 'wrong' });
  stream.send({ topic_name: TOPIC, num_requested: 1 });
  const status = await stream.status;
  assert.equal(status.code, grpc.status.UNAUTHENTICATED);
  assert.equal(errorCodeOf(status), PUBSUB_ERROR_CODES.authError);
  await assert.rejects(
    unaryCall((cb) =>
      client.GetTopic({ topic_name: TOPIC }, authMetadata({ ...AUTH, accessToken: 'wrong' }), cb),
    ),
    (error: grpc.ServiceError) =>
      error.code === grpc.status.UNAUTHENTICATED && errorCodeOf(error) === PUBSUB_ERROR_CODES.authError,
  );
});

test('delivers in order and never more than 100 outstanding events across requests', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  const stream = rawSubscribe(client);
  stream.send({ topic_name: TOPIC, replay_preset: 'LATEST', num_requested: 80 });
  stream.send({ num_requested: 80 });
  await waitFor(() => sandbox.counters.fetchRequests === 2, { message: 'both requests at the server' });
  const published = Array.from({ length: 130 }, (_, n) => sandbox.publish(TOPIC, opportunityEvent(n)));
  await waitFor(() => stream.responses.at(-1)?.pending_num_requested === 0, {
    message: 'the requested events delivered',
  });
  const received = stream.responses.flatMap((response) => response.events);
  assert.deepEqual(
    received.map((event) => event.replay_id.toString('hex')),
    published.slice(0, 100).map((event) => event.replayId.toString('hex')),
  );
  stream.send({ num_requested: 5 });
  await waitFor(() => stream.responses.flatMap((r) => r.events).length === 105, {
    message: 'five more after a new request',
  });
  stream.cancel();
});

test('starts an EARLIEST subscription at the oldest retained event', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  const first = sandbox.publish(TOPIC, opportunityEvent(1));
  sandbox.publish(TOPIC, opportunityEvent(2));
  const stream = rawSubscribe(client);
  stream.send({ topic_name: TOPIC, replay_preset: 'EARLIEST', num_requested: 1 });
  const response = await waitFor(() => stream.responses.find((r) => r.events.length > 0), {
    message: 'the first event',
  });
  assert.deepEqual(
    response.events.map((event) => event.replay_id),
    [first.replayId],
  );
  assert.deepEqual(response.latest_replay_id, first.replayId);
  stream.cancel();
});

test('sends keepalives with a position that CUSTOM replay resumes after', async (t) => {
  const sandbox = await startSandbox({ keepaliveMs: 30 });
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  sandbox.publish(TOPIC, opportunityEvent(1));
  const first = rawSubscribe(client);
  first.send({ topic_name: TOPIC, replay_preset: 'LATEST', num_requested: 10 });
  const keepalive = await waitFor(() => first.responses.find((response) => response.events.length === 0), {
    message: 'a keepalive',
  });
  assert.equal(keepalive.pending_num_requested, 10);
  assert.equal(keepalive.latest_replay_id.length, 8);
  first.cancel();

  const later = sandbox.publish(TOPIC, opportunityEvent(2));
  const resumed = rawSubscribe(client);
  resumed.send({
    topic_name: TOPIC,
    replay_preset: 'CUSTOM',
    replay_id: keepalive.latest_replay_id,
    num_requested: 10,
  });
  const withEvents = await waitFor(() => resumed.responses.find((response) => response.events.length > 0), {
    message: 'the later event',
  });
  assert.deepEqual(
    withEvents.events.map((event) => event.replay_id),
    [later.replayId],
  );
  resumed.cancel();
});

test('ends a stream whose client stops requesting after the idle window', async (t) => {
  const sandbox = await startSandbox({ idleTimeoutMs: 50, keepaliveMs: 10_000 });
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  sandbox.publish(TOPIC, opportunityEvent(1));
  const stream = rawSubscribe(client);
  stream.send({ topic_name: TOPIC, replay_preset: 'EARLIEST', num_requested: 1 });
  const status = await stream.status;
  assert.equal(status.code, grpc.status.OK);
  assert.equal(stream.responses.flatMap((response) => response.events).length, 1);
  assert.equal(sandbox.counters.idleClosures, 1);
});

test('refuses a topic change on a later request with INVALID_ARGUMENT', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  const stream = rawSubscribe(client);
  stream.send({ topic_name: TOPIC, num_requested: 1 });
  stream.send({ topic_name: '/event/Other__e', num_requested: 1 });
  assert.equal((await stream.status).code, grpc.status.INVALID_ARGUMENT);
});

test('rejects unknown and expired replay ids with the corrupted error code', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  const { replayId } = sandbox.publish(TOPIC, opportunityEvent(1));

  const unknown = rawSubscribe(client);
  unknown.send({
    topic_name: TOPIC,
    replay_preset: 'CUSTOM',
    replay_id: Buffer.from('0000000000000001', 'hex'),
    num_requested: 1,
  });
  const unknownStatus = await unknown.status;
  assert.equal(errorCodeOf(unknownStatus), PUBSUB_ERROR_CODES.replayIdCorrupted);

  const valid = rawSubscribe(client);
  valid.send({ topic_name: TOPIC, replay_preset: 'CUSTOM', replay_id: replayId, num_requested: 1 });
  await waitFor(() => sandbox.counters.activeSubscriptions === 1, {
    message: 'the valid replay id accepted',
  });
  valid.cancel();

  sandbox.faults.expireReplayIds();
  const expired = rawSubscribe(client);
  expired.send({ topic_name: TOPIC, replay_preset: 'CUSTOM', replay_id: replayId, num_requested: 1 });
  const expiredStatus = await expired.status;
  assert.equal(expiredStatus.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(errorCodeOf(expiredStatus), PUBSUB_ERROR_CODES.replayIdCorrupted);
});

test('drops a stream mid-batch: some events of the batch, then UNAVAILABLE', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  for (let n = 0; n < 6; n += 1) sandbox.publish(TOPIC, opportunityEvent(n));
  sandbox.faults.dropStreamMidBatch(2);
  const stream = rawSubscribe(client);
  stream.send({ topic_name: TOPIC, replay_preset: 'EARLIEST', num_requested: 10 });
  const status = await stream.status;
  assert.equal(status.code, grpc.status.UNAVAILABLE);
  assert.equal(stream.responses.flatMap((response) => response.events).length, 2);
});

test('refuses an in-process publish that misses a required field', async (t) => {
  const sandbox = await startSandbox();
  t.after(() => sandbox.close());
  const { Opportunity_Id__c: _dropped, ...withoutId } = opportunityEvent(1);
  assert.throws(() => sandbox.publish(TOPIC, withoutId), /Opportunity_Id__c is required/);
  assert.throws(
    () => sandbox.publish(TOPIC, { ...opportunityEvent(1), Change_Kind__c: 'x'.repeat(41) }),
    /Change_Kind__c is longer than 40/,
  );
});

test('decodes an in-process event with the schema it names', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  sandbox.publish(TOPIC, { ...opportunityEvent(7), Changed_Fields__c: null });
  const stream = rawSubscribe(client);
  stream.send({ topic_name: TOPIC, replay_preset: 'EARLIEST', num_requested: 1 });
  const response = await waitFor(() => stream.responses.find((r) => r.events.length > 0), {
    message: 'an event',
  });
  const event = response.events[0].event;
  assert.ok(event);
  const info = await unaryCall<SchemaInfo>((cb) =>
    client.GetSchema({ schema_id: event.schema_id }, authMetadata(AUTH), cb),
  );
  const decoded = parseSchema(info.schema_json).fromBuffer(event.payload) as Record<string, unknown>;
  assert.equal(decoded.Opportunity_Id__c, opportunityEvent(7).Opportunity_Id__c);
  assert.equal(decoded.Changed_Fields__c, null);
  assert.equal(typeof decoded.CreatedDate, 'number');
  stream.cancel();
});

test('answers PublishStream with one response per request', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  const schema = sandbox.schemaFor(TOPIC);
  const payload = schema.type.toBuffer({
    CreatedDate: Date.now(),
    Changed_Fields__c: null,
    ...opportunityEvent(1),
  });
  const call = client.PublishStream(authMetadata(AUTH));
  const responses: PublishResponse[] = [];
  call.on('data', (response: PublishResponse) => responses.push(response));
  call.write({ topic_name: TOPIC, events: [{ id: 'a', schema_id: schema.schemaId, payload, headers: [] }] });
  call.write({ events: [{ id: 'b', schema_id: schema.schemaId, payload, headers: [] }] });
  await waitFor(() => responses.length === 2, { message: 'two publish responses' });
  assert.deepEqual(
    responses.map((response) => response.results[0].correlation_key),
    ['a', 'b'],
  );
  assert.equal(sandbox.counters.eventsPublished, 2);
  call.end();
});

test('adds the configured latency before answering', async (t) => {
  const sandbox = await startSandbox();
  const client = rawClient(sandbox);
  t.after(async () => {
    client.close();
    await sandbox.close();
  });
  sandbox.faults.setLatency(120);
  const started = Date.now();
  await unaryCall<TopicInfo>((cb) => client.GetTopic({ topic_name: TOPIC }, authMetadata(AUTH), cb));
  assert.ok(Date.now() - started >= 110, 'the answer waited for the latency');
  sandbox.faults.reset();
});
