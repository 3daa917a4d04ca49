import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { DynamicsWebApi } from 'dynamics-web-api';
import { startStubServer } from '../support/stubServer.ts';
import type { ReceivedRequest, StubServer } from '../support/stubServer.ts';
import { waitFor } from '../support/waitFor.ts';
import { failure, startDataverseContract } from './support/dataverseSetup.ts';
import type { DataverseContract } from './support/dataverseSetup.ts';

/**
 * Metadata and webhook registration in the Dataverse sandbox, driven by a plain dynamics-web-api
 * client as an installer would: a publisher and solution, columns created inside the solution, an
 * alternate key whose index goes Pending → Active, a service endpoint with an HttpHeader secret and
 * Create / Update / Delete steps, and the RemoteExecutionContext deliveries they cause.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = any;

let contract: DataverseContract;
let api: DynamicsWebApi;
let receiver: StubServer<Row>;
let receiverUrl = '';
let received: ReceivedRequest<Row>[] = [];
/** Statuses the receiver answers with, in order; 200 once they run out. */
let plannedStatuses: number[] = [];
const SECRET = 'webhook-shared-secret-0123456789';
const SOLUTION = 'cosellsync';
const metadata = (path = '') => `EntityDefinitions(LogicalName='opportunity')${path}`;

before(async () => {
  contract = await startDataverseContract({ keyIndexDelayMs: null });
  api = contract.client({ propagateErrors: true });
  receiver = await startStubServer<Row>(() => ({ status: plannedStatuses.shift() ?? 200 }));
  received = receiver.received;
  receiverUrl = `${receiver.url}/webhooks/dynamics`;
});
after(async () => {
  await contract.close();
  await receiver.close();
});
beforeEach(() => {
  plannedStatuses = [];
});

describe('solution and columns', () => {
  it('creates columns inside the solution, refusing a prefix that is not the publisher’s', async () => {
    const publisherId = await api.create<Row, Row>({
      collection: 'publishers',
      data: {
        uniquename: 'cosellsync',
        friendlyname: 'cosell-sync',
        customizationprefix: 'csync',
        customizationoptionvalueprefix: 10501,
      },
    });
    const solutionId = await api.create<Row, Row>({
      collection: 'solutions',
      data: {
        uniquename: SOLUTION,
        friendlyname: 'cosell-sync',
        version: '1.0.0.0',
        'publisherid@odata.bind': `/publishers(${publisherId})`,
      },
    });
    const headers = { 'MSCRM.SolutionUniqueName': SOLUTION };
    await api.createAttribute({
      entityKey: "LogicalName='opportunity'",
      headers,
      data: {
        '@odata.type': 'Microsoft.Dynamics.CRM.BooleanAttributeMetadata',
        SchemaName: 'csync_SyncWithPartnerCenter',
        OptionSet: { TrueOption: { Value: 1 }, FalseOption: { Value: 0 } },
      },
    });
    await api.createAttribute({
      entityKey: "LogicalName='opportunity'",
      headers,
      data: {
        '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
        SchemaName: 'csync_ReferralIdentifier',
        MaxLength: 100,
      },
    });
    await api.createAttribute({
      entityKey: "LogicalName='opportunity'",
      headers,
      data: {
        '@odata.type': 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
        SchemaName: 'csync_SyncStatus',
        OptionSet: {
          '@odata.type': 'Microsoft.Dynamics.CRM.OptionSetMetadata',
          IsGlobal: false,
          OptionSetType: 'Picklist',
          Options: [{ Value: 105010000 }, { Value: 105010001 }, { Value: 105010002 }],
        },
      },
    });
    const wrongPrefix = await failure(
      api.createAttribute({
        entityKey: "LogicalName='opportunity'",
        headers,
        data: {
          '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
          SchemaName: 'new_Other',
          MaxLength: 10,
        },
      }),
    );
    assert.equal(wrongPrefix.status, 400);
    const attribute = await api.retrieveAttribute({
      entityKey: "LogicalName='opportunity'",
      attributeKey: "LogicalName='csync_syncstatus'",
    });
    assert.equal(attribute.AttributeType, 'Picklist');
    const components = await api.retrieveMultiple({
      collection: 'solutioncomponents',
      filter: `_solutionid_value eq ${solutionId} and componenttype eq 2`,
    });
    assert.equal(components.value.length, 3);
    const again = await failure(
      api.createAttribute({
        entityKey: "LogicalName='opportunity'",
        headers,
        data: {
          '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
          SchemaName: 'csync_ReferralIdentifier',
          MaxLength: 100,
        },
      }),
    );
    assert.equal(again.status, 400, 'a column is created once');
    const badChoice = await failure(
      api.create({ collection: 'opportunities', data: { name: 'x', csync_syncstatus: 1 } }),
    );
    assert.equal(badChoice.status, 400);
    await api.create({
      collection: 'opportunities',
      data: { name: 'Choice ok', csync_syncstatus: 105010001, csync_syncwithpartnercenter: true },
    });
  });

  it('builds an alternate key index Pending, then Active, and only then addresses rows by it', async () => {
    await api.create({
      collection: metadata('/Keys'),
      headers: { 'MSCRM.SolutionUniqueName': SOLUTION },
      data: { SchemaName: 'csync_referralidentifier_key', KeyAttributes: ['csync_referralidentifier'] },
    });
    const key = await api.retrieve<Row>({
      collection: metadata('/Keys'),
      key: "LogicalName='csync_referralidentifier_key'",
    });
    assert.equal(key.EntityKeyIndexStatus, 'Pending');
    const early = await failure(
      api.retrieve({ collection: 'opportunities', key: "csync_referralidentifier='r-1'" }),
    );
    assert.equal(early.status, 400, 'a key is unusable until its index is Active');
    contract.sandbox.finishKeyIndexes();
    const built = await api.retrieve<Row>({
      collection: metadata('/Keys'),
      key: "LogicalName='csync_referralidentifier_key'",
    });
    assert.equal(built.EntityKeyIndexStatus, 'Active');
    const missing = await failure(
      api.retrieve({ collection: 'opportunities', key: "csync_referralidentifier='r-1'" }),
    );
    assert.equal(missing.status, 404, 'an Active key addresses rows');
    const memo = await failure(
      api.create({
        collection: metadata('/Keys'),
        data: { SchemaName: 'csync_bad_key', KeyAttributes: ['description'] },
      }),
    );
    assert.equal(memo.status, 400, 'a Memo column cannot be part of a key');
  });
});

describe('webhook steps', () => {
  let stepIds: string[] = [];

  it('registers an HttpHeader endpoint whose secret cannot be read back, and the three steps', async () => {
    const endpointId = await api.create<Row, Row>({
      collection: 'serviceendpoints',
      headers: { 'MSCRM.SolutionUniqueName': SOLUTION },
      data: {
        name: 'cosell-sync relay',
        contract: 8,
        messageformat: 2,
        url: receiverUrl,
        authtype: 5,
        authvalue: `<settings><setting name="x-csync-secret" value="${SECRET}" /></settings>`,
      },
    });
    const endpoint = await api.retrieve<Row>({
      collection: 'serviceendpoints',
      key: endpointId,
      select: ['url', 'authvalue'],
    });
    assert.equal(endpoint.authvalue, null, 'authvalue is write-only');
    const messages = await api.retrieveMultiple<Row>({
      collection: 'sdkmessages',
      select: ['name'],
      filter: "name eq 'Create' or name eq 'Update' or name eq 'Delete'",
    });
    assert.equal(messages.value.length, 3);
    stepIds = [];
    for (const message of messages.value) {
      const filters = await api.retrieveMultiple<Row>({
        collection: 'sdkmessagefilters',
        filter: `primaryobjecttypecode eq 'opportunity' and _sdkmessageid_value eq ${message.sdkmessageid}`,
      });
      assert.equal(filters.value.length, 1);
      stepIds.push(
        await api.create<Row, Row>({
          collection: 'sdkmessageprocessingsteps',
          headers: { 'MSCRM.SolutionUniqueName': SOLUTION },
          data: {
            name: `cosell-sync: ${message.name} of opportunity`,
            'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
            'sdkmessageid@odata.bind': `/sdkmessages(${message.sdkmessageid})`,
            'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${filters.value[0].sdkmessagefilterid})`,
            stage: 40,
            mode: 1,
            rank: 1,
            supporteddeployment: 0,
            asyncautodelete: true,
            ...(message.name === 'Update'
              ? { filteringattributes: 'name,estimatedvalue,csync_syncwithpartnercenter' }
              : {}),
          },
        }),
      );
    }
    const steps = await api.retrieveMultiple({
      collection: 'sdkmessageprocessingsteps',
      filter: `_eventhandler_value eq ${endpointId}`,
    });
    assert.equal(steps.value.length, 3);
  });

  it('POSTs a RemoteExecutionContext with the documented headers for a seller’s create', async () => {
    received.length = 0;
    const row = contract.sandbox
      .asUser(contract.sandbox.sellerUserId)
      .create('opportunity', { name: 'Seller deal', estimatedvalue: 5000, estimatedclosedate: '2027-03-31' });
    const delivery = await waitFor(() => received.find((r) => r.body.PrimaryEntityId === row.id), {
      message: 'the Create delivery',
    });
    assert.equal(delivery.headers['x-csync-secret'], SECRET);
    assert.equal(delivery.headers['x-ms-dynamics-organization'], contract.sandbox.organizationName);
    assert.equal(delivery.headers['x-ms-dynamics-entity-name'], 'opportunity');
    assert.equal(delivery.headers['x-ms-dynamics-request-name'], 'Create');
    assert.ok(delivery.headers['x-ms-correlation-request-id']);
    const context = delivery.body;
    assert.equal(context.MessageName, 'Create');
    assert.equal(context.PrimaryEntityName, 'opportunity');
    assert.equal(context.UserId, contract.sandbox.sellerUserId);
    assert.equal(context.InitiatingUserId, contract.sandbox.sellerUserId);
    assert.equal(context.Stage, 40);
    assert.equal(context.Mode, 1);
    assert.match(context.OperationCreatedOn, /^\/Date\(\d+([+-]\d{4})?\)\/$/);
    const target = context.InputParameters.find((p: Row) => p.key === 'Target').value;
    assert.equal(target.LogicalName, 'opportunity');
    const attributes = Object.fromEntries(target.Attributes.map((a: Row) => [a.key, a.value]));
    assert.equal(attributes.name, 'Seller deal');
    assert.deepEqual(attributes.estimatedvalue, {
      __type: 'Money:http://schemas.microsoft.com/xrm/2011/Contracts',
      Value: 5000,
    });
    assert.match(attributes.estimatedclosedate, /^\/Date\(\d+\)\/$/);
    assert.equal(context.OwningExtension.Id, stepIds[0]);
  });

  it('delivers an Update only when a filtering attribute changed, and the relay’s own write carries its user', async () => {
    const seller = contract.sandbox.asUser(contract.sandbox.sellerUserId);
    const row = seller.create('opportunity', { name: 'Filtered deal' });
    await waitFor(() =>
      received.find((r) => r.body.PrimaryEntityId === row.id && r.body.MessageName === 'Create'),
    );
    seller.update('opportunity', row.id, { description: 'not a filtering attribute' });
    await api.update({
      collection: 'opportunities',
      key: row.id,
      data: { name: 'Filtered deal, renamed by the relay' },
    });
    const update = await waitFor(
      () => received.find((r) => r.body.PrimaryEntityId === row.id && r.body.MessageName === 'Update'),
      { message: 'the Update delivery' },
    );
    await contract.sandbox.idle();
    const updates = received.filter(
      (r) => r.body.PrimaryEntityId === row.id && r.body.MessageName === 'Update',
    );
    assert.equal(updates.length, 1, 'the description-only update raised no delivery');
    const who = await api.callFunction<Row>('WhoAmI');
    assert.equal(update.body.UserId, who.UserId, 'an echo of the application user is recognisable by UserId');
  });

  it('delivers a Delete as an EntityReference target', async () => {
    const seller = contract.sandbox.asUser(contract.sandbox.sellerUserId);
    const row = seller.create('opportunity', { name: 'Doomed deal' });
    seller.remove('opportunity', row.id);
    const deletion = await waitFor(
      () => received.find((r) => r.body.PrimaryEntityId === row.id && r.body.MessageName === 'Delete'),
      { message: 'the Delete delivery' },
    );
    const target = deletion.body.InputParameters[0].value;
    assert.match(target.__type, /^EntityReference:/);
    assert.equal(target.Id, row.id);
  });

  it('tries once more after a 503, and never after a 500, leaving a failed asynchronous operation', async () => {
    const seller = contract.sandbox.asUser(contract.sandbox.sellerUserId);
    plannedStatuses = [503];
    const retried = seller.create('opportunity', { name: 'Retried deal' });
    await waitFor(() => received.filter((r) => r.body.PrimaryEntityId === retried.id).length === 2, {
      message: 'the second attempt',
    });
    await contract.sandbox.idle();
    plannedStatuses = [500];
    const failed = seller.create('opportunity', { name: 'Failed deal' });
    await waitFor(() => received.some((r) => r.body.PrimaryEntityId === failed.id), {
      message: 'the failed attempt',
    });
    await contract.sandbox.idle();
    assert.equal(
      received.filter((r) => r.body.PrimaryEntityId === failed.id).length,
      1,
      'a 500 is not retried',
    );
    const operations = await waitFor(async () => {
      const found = await api.retrieveMultiple<Row>({
        collection: 'asyncoperations',
        filter: `statuscode eq 31 and _owningextensionid_value eq ${stepIds[0]}`,
      });
      return found.value.length > 0 ? found.value : undefined;
    });
    assert.equal(operations.length, 1);
    assert.equal(operations[0]._regardingobjectid_value, failed.id);
  });

  it('strips an oversized context and says so in a header', async () => {
    contract.sandbox.faults.webhookBodyLimitBytes = 2048;
    try {
      const row = contract.sandbox
        .asUser(contract.sandbox.sellerUserId)
        .create('opportunity', { name: 'Large deal', description: 'x'.repeat(2000) });
      const delivery = await waitFor(() => received.find((r) => r.body.PrimaryEntityId === row.id), {
        message: 'the stripped delivery',
      });
      assert.equal(delivery.headers['x-ms-dynamics-msg-size-exceeded'], 'true');
      assert.deepEqual(delivery.body.InputParameters, []);
      assert.equal(delivery.body.MessageName, 'Create');
    } finally {
      contract.sandbox.faults.webhookBodyLimitBytes = 256 * 1024;
    }
  });

  it('stops delivering once the steps are deleted', async () => {
    for (const id of stepIds) await api.deleteRecord({ collection: 'sdkmessageprocessingsteps', key: id });
    const row = contract.sandbox
      .asUser(contract.sandbox.sellerUserId)
      .create('opportunity', { name: 'Unobserved deal' });
    await contract.sandbox.idle();
    assert.equal(received.filter((r) => r.body.PrimaryEntityId === row.id).length, 0);
    assert.equal(contract.sandbox.deliveries().filter((d) => d.primaryEntityId === row.id).length, 0);
  });
});
