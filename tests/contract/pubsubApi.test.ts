import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createPubSubSandbox } from '../../relay/sandbox/salesforce/pubsub/pubsubSandbox.ts';
import type { PubSubSandbox } from '../../relay/sandbox/salesforce/pubsub/pubsubSandbox.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * The Pub/Sub sandbox seen by a plain @grpc/grpc-js client built from the published proto, with
 * none of the relay's code: TLS as api.pubsub.salesforce.com:7443 speaks it, and ManagedSubscribe
 * (beta) as the ManagedSubscribe RPC page and the forcedotcom Java sample use it.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const TOPIC = '/event/Referral_Sync__e';
const ORG_ID = '00DSb0000000001AAA';
const TOKEN = 'contract-test-token';

interface ConsumerEvent {
  event: { id: string };
  replay_id: Buffer;
}
interface ManagedFetchResponse {
  events: ConsumerEvent[];
  latest_replay_id: Buffer;
  rpc_id: string;
  pending_num_requested: number;
  commit_response: {
    commit_request_id: string;
    replay_id: Buffer;
    error: { code: string; msg: string } | null;
    process_time: string;
  } | null;
}
type Client = grpc.Client & {
  GetTopic(
    request: object,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<{ topic_name: string }>,
  ): void;
  ManagedSubscribe(metadata: grpc.Metadata): grpc.ClientDuplexStream<object, ManagedFetchResponse>;
};

const definition = protoLoader.loadSync(path.join(ROOT, 'relay/proto/pubsub_api.proto'), {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
});
const PubSub = (
  grpc.loadPackageDefinition(definition) as unknown as {
    eventbus: { v1: { PubSub: new (address: string, credentials: grpc.ChannelCredentials) => Client } };
  }
).eventbus.v1.PubSub;

function metadata(): grpc.Metadata {
  const value = new grpc.Metadata();
  value.set('accesstoken', TOKEN);
  value.set('instanceurl', 'https://127.0.0.1');
  value.set('tenantid', ORG_ID);
  return value;
}

function getTopic(client: Client): Promise<{ topic_name: string }> {
  return new Promise((resolve, reject) =>
    client.GetTopic({ topic_name: TOPIC }, metadata(), (error, value) =>
      error ? reject(error) : resolve(value!),
    ),
  );
}

interface ManagedStream {
  responses: ManagedFetchResponse[];
  events(): ConsumerEvent[];
  status: Promise<grpc.StatusObject>;
  send(request: object): void;
  close(): Promise<void>;
}

function managedSubscribe(client: Client): ManagedStream {
  const call = client.ManagedSubscribe(metadata());
  const responses: ManagedFetchResponse[] = [];
  call.on('data', (response: ManagedFetchResponse) => responses.push(response));
  call.on('error', () => undefined);
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return {
    responses,
    events: () => responses.flatMap((response) => response.events),
    status,
    send: (request) => call.write(request),
    async close() {
      call.end();
      await status;
    },
  };
}

let sandbox: PubSubSandbox;
let client: Client;

before(async () => {
  sandbox = await createPubSubSandbox({
    forceAppDir: path.join(ROOT, 'force-app'),
    authenticate: (auth) =>
      auth.accessToken === TOKEN && auth.tenantId === ORG_ID
        ? { userId: '005Sb0000000002AAA', orgId: ORG_ID }
        : null,
  });
  client = new PubSub(sandbox.endpoint, grpc.credentials.createSsl(Buffer.from(sandbox.caPem)));
});
after(async () => {
  client.close();
  await sandbox.close();
});

let serial = 0;
function publish(): string {
  serial += 1;
  return sandbox.publish(TOPIC, {
    Opportunity_Id__c: `006Sb${String(serial).padStart(10, '0')}AAA`,
    Change_Kind__c: 'Updated',
    CreatedById: '005Sb0000000002AAA',
  }).eventId;
}

describe('Pub/Sub sandbox over TLS', () => {
  it('answers a client that trusts the sandbox CA', async () => {
    assert.equal((await getTopic(client)).topic_name, TOPIC);
  });

  it('refuses a TLS client that trusts only the system roots', async () => {
    const untrusting = new PubSub(sandbox.endpoint, grpc.credentials.createSsl());
    try {
      await assert.rejects(getTopic(untrusting), (error: grpc.ServiceError) => {
        assert.equal(error.code, grpc.status.UNAVAILABLE);
        assert.match(error.details, /certificate/);
        return true;
      });
    } finally {
      untrusting.close();
    }
  });

  it('refuses a plaintext client: the port speaks TLS only', async () => {
    const plaintext = new PubSub(sandbox.endpoint, grpc.credentials.createInsecure());
    try {
      await assert.rejects(
        getTopic(plaintext),
        (error: grpc.ServiceError) => error.code === grpc.status.UNAVAILABLE,
      );
    } finally {
      plaintext.close();
    }
  });
});

describe('ManagedSubscribe', () => {
  it('starts at defaultReplay, commits a replay id, and resumes right after it on the next stream', async () => {
    const info = sandbox.managedSubscriptions.define({
      developerName: 'Relay_Resume',
      topicName: TOPIC,
      defaultReplay: 'EARLIEST',
    });
    const published = [publish(), publish(), publish()];
    const first = managedSubscribe(client);
    first.send({ developer_name: 'Relay_Resume', num_requested: 10 });
    await waitFor(() => first.events().length === 3, { message: 'the three stored events' });
    assert.deepEqual(
      first.events().map((event) => event.event.id),
      published,
    );

    const commitId = randomUUID();
    first.send({
      commit_replay_id_request: { commit_request_id: commitId, replay_id: first.events()[1].replay_id },
    });
    const answer = await waitFor(() => first.responses.find((response) => response.commit_response), {
      message: 'the commit response',
    });
    assert.equal(answer.commit_response!.commit_request_id, commitId);
    assert.deepEqual(answer.commit_response!.replay_id, first.events()[1].replay_id);
    assert.equal(answer.commit_response!.error, null);
    assert.ok(Number(answer.commit_response!.process_time) > 0, 'process_time is epoch ms');
    assert.deepEqual(answer.events, [], 'a commit response carries no events');
    assert.equal(answer.pending_num_requested, 7);
    await first.close();
    assert.deepEqual(
      sandbox.managedSubscriptions.get('Relay_Resume')?.committedReplayId,
      first.events()[1].replay_id,
    );

    const fourth = publish();
    const second = managedSubscribe(client);
    second.send({ subscription_id: info.id, num_requested: 10 });
    await waitFor(() => second.events().length === 2, { message: 'the events after the committed one' });
    assert.deepEqual(
      second.events().map((event) => event.event.id),
      [published[2], fourth],
    );
    await second.close();
  });

  it('answers a commit of an unknown replay id with a COMMIT error and keeps the stream', async () => {
    sandbox.managedSubscriptions.define({ developerName: 'Relay_BadCommit', topicName: TOPIC });
    const stream = managedSubscribe(client);
    stream.send({ developer_name: 'Relay_BadCommit', num_requested: 5 });
    stream.send({
      commit_replay_id_request: {
        commit_request_id: 'bad',
        replay_id: Buffer.from('ffffffffffffffff', 'hex'),
      },
    });
    const answer = await waitFor(() => stream.responses.find((response) => response.commit_response), {
      message: 'the commit response',
    });
    assert.equal(answer.commit_response!.error?.code, 'COMMIT');
    assert.equal(sandbox.managedSubscriptions.get('Relay_BadCommit')?.committedReplayId, null);
    const id = publish();
    await waitFor(() => stream.events().some((event) => event.event.id === id), {
      message: 'the stream still delivers',
    });
    await stream.close();
  });

  it('accepts the latest_replay_id of an empty response as a commit', async () => {
    sandbox.managedSubscriptions.define({ developerName: 'Relay_Empty', topicName: TOPIC });
    const stream = managedSubscribe(client);
    stream.send({ developer_name: 'Relay_Empty', num_requested: 1 });
    stream.send({ commit_replay_id_request: { commit_request_id: 'first', replay_id: Buffer.alloc(0) } });
    const refused = await waitFor(() => stream.responses.find((response) => response.commit_response), {
      message: 'the commit response',
    });
    // Nothing was delivered yet, so the only position the client holds is the response's own.
    stream.send({
      commit_replay_id_request: { commit_request_id: 'second', replay_id: refused.latest_replay_id },
    });
    const accepted = await waitFor(
      () => stream.responses.find((response) => response.commit_response?.commit_request_id === 'second'),
      { message: 'the second commit response' },
    );
    assert.equal(accepted.commit_response!.error, null);
    await stream.close();
  });

  it('resumes at errorRecoveryReplay when the committed replay id has expired', async () => {
    sandbox.managedSubscriptions.define({
      developerName: 'Relay_Expired',
      topicName: TOPIC,
      defaultReplay: 'EARLIEST',
      errorRecoveryReplay: 'LATEST',
    });
    publish();
    const first = managedSubscribe(client);
    first.send({ developer_name: 'Relay_Expired', num_requested: 100 });
    await waitFor(() => first.events().length > 0, { message: 'stored events' });
    const last = first.events().at(-1)!;
    first.send({ commit_replay_id_request: { commit_request_id: 'c', replay_id: last.replay_id } });
    await waitFor(() => first.responses.some((response) => response.commit_response), { message: 'commit' });
    await first.close();

    sandbox.faults.expireReplayIds();
    const second = managedSubscribe(client);
    second.send({ developer_name: 'Relay_Expired', num_requested: 100 });
    await waitFor(() => sandbox.managedSubscriptions.get('Relay_Expired')?.streaming === true, {
      message: 'the stream to open at its start position',
    });
    const fresh = publish();
    await waitFor(() => second.events().length > 0, { message: 'an event after LATEST' });
    assert.deepEqual(
      second.events().map((event) => event.event.id),
      [fresh],
    );
    await second.close();
  });

  it('refuses an unknown or stopped subscription, a second stream on one, and a change of subscription', async () => {
    const unknown = managedSubscribe(client);
    unknown.send({ developer_name: 'No_Such_Subscription', num_requested: 1 });
    assert.equal((await unknown.status).code, grpc.status.NOT_FOUND);

    sandbox.managedSubscriptions.define({ developerName: 'Relay_Stopped', topicName: TOPIC, state: 'STOP' });
    const stopped = managedSubscribe(client);
    stopped.send({ developer_name: 'Relay_Stopped', num_requested: 1 });
    assert.equal((await stopped.status).code, grpc.status.FAILED_PRECONDITION);

    const nameless = managedSubscribe(client);
    nameless.send({ num_requested: 1 });
    assert.equal((await nameless.status).code, grpc.status.INVALID_ARGUMENT);

    sandbox.managedSubscriptions.define({ developerName: 'Relay_Single', topicName: TOPIC });
    const holder = managedSubscribe(client);
    holder.send({ developer_name: 'Relay_Single', num_requested: 1 });
    await waitFor(() => sandbox.managedSubscriptions.get('Relay_Single')?.streaming === true, {
      message: 'the first stream to open',
    });
    const intruder = managedSubscribe(client);
    intruder.send({ developer_name: 'Relay_Single', num_requested: 1 });
    const refused = await intruder.status;
    assert.equal(refused.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(
      refused.metadata.get('error-code')[0],
      'sfdc.platform.eventbus.grpc.managed.subscription.in.use',
    );

    holder.send({ developer_name: 'Relay_Resume', num_requested: 1 });
    assert.equal((await holder.status).code, grpc.status.INVALID_ARGUMENT);
    await waitFor(() => sandbox.managedSubscriptions.get('Relay_Single')?.streaming === false, {
      message: 'the subscription to be free again',
    });
  });
});
