import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DynamicsWebApi } from 'dynamics-web-api';
import { startStubServer } from '../support/stubServer.ts';
import type { ReceivedRequest, StubServer } from '../support/stubServer.ts';
import { waitFor } from '../support/waitFor.ts';
import { failure, startDataverseContract } from './support/dataverseSetup.ts';
import type { DataverseContract } from './support/dataverseSetup.ts';

/**
 * The Dataverse sandbox's knobs and less common shapes, seen by a plain dynamics-web-api client:
 * injected 503s and slow answers, the other webhook authentication types, the retry on 502 / 504
 * only, a receiver that never answers, OData 4.01 deleted entries, an expired delta token, a key
 * index that fails on duplicate values, the batch size limit and Win steps.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = any;

let contract: DataverseContract;
let api: DynamicsWebApi;
let clock = Date.now();
let receiver: StubServer<Row>;
let base = '';
let received: ReceivedRequest<Row>[] = [];
let planned: Array<number | 'hang'> = [];

before(async () => {
  contract = await startDataverseContract({
    now: () => clock,
    deletedEntityFormat: '4.01',
    webhookTimeoutMs: 300,
    keyIndexDelayMs: null,
  });
  api = contract.client({ propagateErrors: true });
  receiver = await startStubServer<Row>(() => {
    const next = planned.shift() ?? 200;
    // 'hang' never answers: the delivery times out.
    return next === 'hang' ? 'hang' : { status: next };
  });
  received = receiver.received;
  base = receiver.url;
});
after(async () => {
  await receiver.close();
  await contract.close();
});

async function registerStep(
  message: string,
  endpoint: Record<string, unknown>,
): Promise<{ endpointId: string; stepId: string }> {
  const endpointId = await api.create<Row, Row>({
    collection: 'serviceendpoints',
    data: { contract: 8, messageformat: 2, ...endpoint },
  });
  const sdkMessage = (
    await api.retrieveMultiple<Row>({ collection: 'sdkmessages', filter: `name eq '${message}'` })
  ).value[0];
  const filter = (
    await api.retrieveMultiple<Row>({
      collection: 'sdkmessagefilters',
      filter: `primaryobjecttypecode eq 'opportunity' and _sdkmessageid_value eq ${sdkMessage.sdkmessageid}`,
    })
  ).value[0];
  const stepId = await api.create<Row, Row>({
    collection: 'sdkmessageprocessingsteps',
    data: {
      name: `faults ${message}`,
      'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
      'sdkmessageid@odata.bind': `/sdkmessages(${sdkMessage.sdkmessageid})`,
      'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${filter.sdkmessagefilterid})`,
      stage: 40,
      mode: 1,
      asyncautodelete: false,
    },
  });
  return { endpointId, stepId };
}

describe('injected faults', () => {
  it('answers 503 with the Dataverse error shape, then serves again', async () => {
    contract.sandbox.faults.unavailable(1);
    const error = await failure(api.callFunction('WhoAmI'));
    assert.equal(error.status, 503);
    assert.match(error.code ?? '', /^0x[0-9a-f]{8}$/);
    assert.ok((await api.callFunction<Row>('WhoAmI')).UserId);
  });

  it('holds a request long enough for a client timeout', async () => {
    contract.sandbox.faults.slow(1, 2000);
    const impatient = contract.client({ timeout: 200 });
    const error = await impatient.callFunction('WhoAmI').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(error, 'the client gave up');
    assert.ok((await api.callFunction<Row>('WhoAmI')).UserId);
  });

  it('refuses a batch of more than 1000 requests', async () => {
    api.startBatch();
    for (let i = 0; i < 1001; i += 1) api.retrieveMultiple({ collection: 'accounts', top: 1 });
    const error = await failure(api.executeBatch());
    assert.equal(error.status, 400);
    assert.match(error.message, /1001/);
  });
});

describe('webhook authentication and retries', () => {
  it('sends a WebhookKey as ?code= and HttpQueryString settings as query parameters', async () => {
    const key = await registerStep('Create', {
      name: 'key endpoint',
      url: `${base}/key`,
      authtype: 4,
      authvalue: 'the-function-key',
    });
    const query = await registerStep('Create', {
      name: 'query endpoint',
      url: `${base}/query`,
      authtype: 6,
      authvalue: '<settings><setting name="token" value="q s&amp;1" /></settings>',
    });
    const row = contract.sandbox
      .asUser(contract.sandbox.sellerUserId)
      .create('opportunity', { name: 'Auth types' });
    await waitFor(() => received.filter((r) => r.body.PrimaryEntityId === row.id).length === 2, {
      message: 'both deliveries',
    });
    const byPath = new Map(
      received
        .filter((r) => r.body.PrimaryEntityId === row.id)
        .map((r) => [new URL(r.url, base).pathname, new URL(r.url, base)]),
    );
    assert.equal(byPath.get('/key')!.searchParams.get('code'), 'the-function-key');
    assert.equal(byPath.get('/query')!.searchParams.get('token'), 'q s&1');
    await api.deleteRecord({ collection: 'sdkmessageprocessingsteps', key: key.stepId });
    await api.deleteRecord({ collection: 'sdkmessageprocessingsteps', key: query.stepId });
  });

  it('tries once more on 502 and on 504, keeps a succeeded operation when asyncautodelete is off', async () => {
    const step = await registerStep('Update', {
      name: 'retry endpoint',
      url: `${base}/retry`,
      authtype: 5,
      authvalue: '<settings><setting name="x-k" value="v" /></settings>',
    });
    const seller = contract.sandbox.asUser(contract.sandbox.sellerUserId);
    const row = seller.create('opportunity', { name: 'Retry me' });
    for (const status of [502, 504]) {
      planned = [status];
      const before = received.length;
      seller.update('opportunity', row.id, { description: `after ${status}` });
      await waitFor(() => received.length - before === 2, { message: `the retry after ${status}` });
      await contract.sandbox.idle();
    }
    const succeeded = await api.retrieveMultiple<Row>({
      collection: 'asyncoperations',
      filter: `statuscode eq 30 and _owningextensionid_value eq ${step.stepId}`,
    });
    assert.equal(succeeded.value.length, 2);
    await api.deleteRecord({ collection: 'sdkmessageprocessingsteps', key: step.stepId });
  });

  it('gives up on a receiver that never answers, without a second attempt', async () => {
    const step = await registerStep('Delete', {
      name: 'hang endpoint',
      url: `${base}/hang`,
      authtype: 5,
      authvalue: '<settings><setting name="x-k" value="v" /></settings>',
    });
    const seller = contract.sandbox.asUser(contract.sandbox.sellerUserId);
    const row = seller.create('opportunity', { name: 'Hang on delete' });
    planned = ['hang'];
    seller.remove('opportunity', row.id);
    const failed = await waitFor(
      async () => {
        const found = await api.retrieveMultiple<Row>({
          collection: 'asyncoperations',
          filter: `statuscode eq 31 and _owningextensionid_value eq ${step.stepId}`,
        });
        return found.value[0];
      },
      { message: 'the failed operation' },
    );
    assert.match(failed.message, /could not be reached/);
    assert.equal(contract.sandbox.deliveries().filter((d) => d.stepId === step.stepId).length, 1);
  });

  it('raises Win for steps on the Win message when WinOpportunity closes a deal', async () => {
    await registerStep('Win', {
      name: 'win endpoint',
      url: `${base}/win`,
      authtype: 5,
      authvalue: '<settings><setting name="x-k" value="v" /></settings>',
    });
    const id = await api.create<Row, Row>({ collection: 'opportunities', data: { name: 'Win me' } });
    await api.callAction({
      actionName: 'WinOpportunity',
      action: {
        Status: 3,
        OpportunityClose: { subject: 'Won', 'opportunityid@odata.bind': `/opportunities(${id})` },
      },
    });
    const win = await waitFor(
      () => received.find((r) => r.body.PrimaryEntityId === id && r.body.MessageName === 'Win'),
      { message: 'the Win delivery' },
    );
    assert.equal(win.headers['x-ms-dynamics-request-name'], 'Win');
  });
});

describe('change tracking and keys, less common shapes', () => {
  it('reports deletions as OData 4.01 @removed entries when configured so', async () => {
    const definition = await api.retrieveEntity({ key: "LogicalName='contact'" });
    await api.updateEntity({ data: { ...definition, ChangeTrackingEnabled: true } });
    const doomed = await api.create<Row, Row>({ collection: 'contacts', data: { lastname: 'Removed' } });
    const baseline = await api.retrieveAll({
      collection: 'contacts',
      select: ['lastname'],
      trackChanges: true,
    });
    await api.deleteRecord({ collection: 'contacts', key: doomed });
    const delta = await api.retrieveMultiple<Row>({ collection: 'contacts' }, baseline.oDataDeltaLink);
    assert.equal(delta.value.length, 1);
    assert.deepEqual(delta.value[0]['@removed'], { reason: 'deleted' });
    assert.equal(delta.value[0].contactid, doomed);
  });

  it('refuses a delta token older than the retention, asking for a new baseline', async () => {
    const baseline = await api.retrieveAll({
      collection: 'contacts',
      select: ['lastname'],
      trackChanges: true,
    });
    clock += 8 * 86_400_000;
    try {
      const expired = await failure(
        api.retrieveMultiple({ collection: 'contacts' }, baseline.oDataDeltaLink),
      );
      assert.equal(expired.status, 400);
      assert.match(expired.message, /new baseline/);
    } finally {
      clock -= 8 * 86_400_000;
    }
  });

  it('fails a key index when existing rows share a value', async () => {
    await api.create({
      collection: 'publishers',
      data: {
        uniquename: 'faults',
        friendlyname: 'faults',
        customizationprefix: 'flt',
        customizationoptionvalueprefix: 10777,
      },
    });
    await api.createAttribute({
      entityKey: "LogicalName='account'",
      data: {
        '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
        SchemaName: 'flt_Code',
        MaxLength: 20,
      },
    });
    await api.create({ collection: 'accounts', data: { name: 'One', flt_code: 'SAME' } });
    await api.create({ collection: 'accounts', data: { name: 'Two', flt_code: 'same' } });
    await api.create({
      collection: "EntityDefinitions(LogicalName='account')/Keys",
      data: { SchemaName: 'flt_code_key', KeyAttributes: ['flt_code'] },
    });
    contract.sandbox.finishKeyIndexes();
    const key = await api.retrieve<Row>({
      collection: "EntityDefinitions(LogicalName='account')/Keys",
      key: "LogicalName='flt_code_key'",
    });
    assert.equal(key.EntityKeyIndexStatus, 'Failed');
  });
});
