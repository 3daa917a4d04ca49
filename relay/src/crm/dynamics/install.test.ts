import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { CLIENT, startDataverseContract } from '../../../../tests/contract/support/dataverseSetup.ts';
import type { DataverseContract } from '../../../../tests/contract/support/dataverseSetup.ts';
import { startStubServer } from '../../../../tests/support/stubServer.ts';
import type { ReceivedRequest, StubServer } from '../../../../tests/support/stubServer.ts';
import { waitFor } from '../../../../tests/support/waitFor.ts';
import { createDataverseClient } from './dataverseClient.ts';
import type { DataverseClient } from './dataverseClient.ts';
import { install, uninstall } from './install.ts';
import { attributeMetadata, dynamicsSchema, normalizePrefix } from './schema.ts';

/**
 * `install` / `uninstall` against an empty Dataverse sandbox over real sockets: every column, the
 * key (waited for until Active), change tracking, the endpoint and the three steps; a second run
 * changes nothing; a seller's edit then reaches the webhook receiver with the secret; uninstall
 * removes the registration, and with `columns` the schema.
 */

let contract: DataverseContract;
let client: DataverseClient;
let receiver: StubServer<{ PrimaryEntityId: string; MessageName: string }>;
let webhookUrl = '';
let received: ReceivedRequest<{ PrimaryEntityId: string; MessageName: string }>[] = [];
const SECRET = 'install-test-secret-with-"quotes"&<xml>';

before(async () => {
  contract = await startDataverseContract({ keyIndexDelayMs: 100 });
  const { entra, sandbox } = contract;
  client = createDataverseClient({
    orgUrl: sandbox.url,
    tenantAuthority: entra.authority,
    authorityMetadata: entra.authorityMetadata,
    cloudDiscoveryMetadata: entra.cloudDiscoveryMetadata,
    knownAuthorities: entra.knownAuthorities,
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
  });
  receiver = await startStubServer();
  received = receiver.received;
  webhookUrl = `${receiver.url}/webhooks/dynamics`;
});
after(async () => {
  await contract.close();
  await receiver.close();
});

describe('the Dynamics schema', () => {
  it('puts every column and the key under the prefix, and keeps relay-owned columns out of filteringattributes', () => {
    const schema = dynamicsSchema({ prefix: 'acme_' });
    assert.equal(schema.columns.length, 11);
    for (const column of schema.columns) assert.match(column.logicalName, /^acme_[a-z]+$/);
    assert.deepEqual(schema.key.attributes, ['acme_referralidentifier']);
    for (const owned of schema.columns.filter((c) => c.relayOwned))
      assert.equal(schema.filteringAttributes.includes(owned.logicalName), false);
    assert.ok(schema.filteringAttributes.includes('acme_syncwithpartnercenter'));
    assert.ok(schema.filteringAttributes.includes('name'));
  });

  it('derives choice values from the option-value prefix and labels every column', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10000, max: 99999 }), (optionValuePrefix) => {
        const schema = dynamicsSchema({ optionValuePrefix });
        for (const column of schema.columns) {
          for (const option of column.options ?? [])
            assert.equal(Math.floor(option.value / 10_000), optionValuePrefix);
          const body = attributeMetadata(column);
          assert.equal(body.SchemaName, column.schemaName);
        }
      }),
    );
  });

  it('refuses prefixes Dataverse refuses, naming them', () => {
    assert.equal(normalizePrefix('csync_'), 'csync');
    for (const bad of ['', 'c', 'Csync', 'mscrmx', '1abc', 'waytoolongprefix', 'a-b'])
      assert.throws(() => normalizePrefix(bad), new RegExp(bad === '' ? 'prefix' : bad));
    assert.throws(() => dynamicsSchema({ optionValuePrefix: 999 }), /option-value prefix 999/);
  });
});

describe('install and uninstall', () => {
  const schema = dynamicsSchema();

  it('creates every column, the Active key, change tracking, the endpoint and the steps in an empty org', async () => {
    const report = await install({ client, schema, webhookUrl, webhookSecret: SECRET, keyPollMs: 20 });
    const table = contract.sandbox.organization.tables.get('opportunity')!;
    for (const column of schema.columns)
      assert.ok(table.columns.has(column.logicalName), `${column.logicalName} exists`);
    assert.equal(table.keys.get(schema.key.logicalName)?.status, 'Active');
    assert.equal(table.changeTrackingEnabled, true);
    const steps = contract.sandbox.organization.rows('sdkmessageprocessingstep');
    assert.equal(steps.length, 3);
    const update = steps.find((s) => s.id === report.stepIds.Update)!;
    assert.equal(update.data.filteringattributes, schema.filteringAttributes.join(','));
    assert.deepEqual([update.data.stage, update.data.mode], [40, 1]);
    const solution = contract.sandbox.organization
      .rows('solution')
      .find((s) => s.data.uniquename === 'cosellsync')!;
    const components = contract.sandbox.organization
      .rows('solutioncomponent')
      .filter((c) => c.data._solutionid_value === solution.id);
    assert.equal(
      components.length,
      schema.columns.length + 1 /* key */ + 1 /* entity */ + 1 /* endpoint */ + 3 /* steps */,
    );
    assert.equal(report.changed.length, 2 + schema.columns.length + 1 + 1 + 1 + 3);
  });

  it('changes nothing on a second run', async () => {
    const version = contract.sandbox.organization.version;
    const report = await install({ client, schema, webhookUrl, webhookSecret: SECRET, keyPollMs: 20 });
    assert.deepEqual(report.changed, []);
    assert.equal(contract.sandbox.organization.version, version, 'no row was written');
  });

  it('delivers a seller’s edit to the registered URL with the secret header', async () => {
    const seller = contract.sandbox.asUser(contract.sandbox.sellerUserId);
    const row = seller.create('opportunity', { name: 'Installed deal', csync_syncwithpartnercenter: true });
    seller.update('opportunity', row.id, { csync_syncstatus: schema.column('syncStatus').options![1].value });
    seller.update('opportunity', row.id, { estimatedvalue: 900 });
    await waitFor(() => received.filter((r) => r.body.PrimaryEntityId === row.id).length >= 2, {
      message: 'the Create and Update deliveries',
    });
    await contract.sandbox.idle();
    const deliveries = received.filter((r) => r.body.PrimaryEntityId === row.id);
    assert.deepEqual(
      deliveries.map((d) => d.body.MessageName).sort(),
      ['Create', 'Update'],
      'the relay-owned Sync Status change raised nothing',
    );
    assert.equal(deliveries[0].headers['x-csync-secret'], SECRET);
  });

  it('updates the endpoint URL when it moved, and only that', async () => {
    const moved = `${webhookUrl}?moved=1`;
    const report = await install({ client, schema, webhookUrl: moved, webhookSecret: SECRET, keyPollMs: 20 });
    assert.deepEqual(report.changed, ['endpoint cosell-sync relay (url)']);
    await install({ client, schema, webhookUrl, webhookSecret: SECRET, keyPollMs: 20 });
  });

  it('uninstall removes the steps and the endpoint, and with columns the key and columns', async () => {
    const removed = await uninstall({ client, schema });
    assert.equal(removed.filter((r) => r.startsWith('step ')).length, 3);
    assert.ok(removed.includes('endpoint cosell-sync relay'));
    assert.equal(contract.sandbox.organization.rows('sdkmessageprocessingstep').length, 0);
    assert.equal(contract.sandbox.organization.rows('serviceendpoint').length, 0);
    const table = contract.sandbox.organization.tables.get('opportunity')!;
    assert.ok(table.columns.has('csync_referralidentifier'), 'columns stay without --columns');
    assert.deepEqual(await uninstall({ client, schema }), [], 'a second uninstall has nothing to remove');
    const withColumns = await uninstall({ client, schema, columns: true });
    assert.equal(withColumns.length, schema.columns.length + 1);
    for (const column of schema.columns) assert.equal(table.columns.has(column.logicalName), false);
    assert.equal(table.keys.size, 0);
  });
});
