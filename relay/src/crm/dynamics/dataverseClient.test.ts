import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDataverseContract } from '../../../../tests/contract/support/dataverseSetup.ts';
import type { DataverseContract } from '../../../../tests/contract/support/dataverseSetup.ts';
import { CLIENT } from '../../../../tests/contract/support/dataverseSetup.ts';
import { waitFor } from '../../../../tests/support/waitFor.ts';
import { createDataverseClient, DataverseError } from './dataverseClient.ts';
import type { DataverseClientOptions } from './dataverseClient.ts';

/**
 * The relay's Dataverse client against the Dataverse sandbox over real sockets, with real MSAL
 * client credentials from the sandbox Entra authority (scope `<org url>/.default`).
 */

let contract: DataverseContract;

function client(overrides: Partial<DataverseClientOptions> = {}) {
  const { entra, sandbox } = contract;
  return createDataverseClient({
    orgUrl: sandbox.url,
    tenantAuthority: entra.authority,
    authorityMetadata: entra.authorityMetadata,
    cloudDiscoveryMetadata: entra.cloudDiscoveryMetadata,
    knownAuthorities: entra.knownAuthorities,
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    ...overrides,
  });
}

/** A clock the test moves and a sleep that records each wait and moves the clock by it. */
function manualTime(start = 1_000_000) {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

before(async () => {
  contract = await startDataverseContract();
});
after(() => contract.close());

describe('the Dataverse client', () => {
  it('signs in with client credentials and is the application user WhoAmI names', async () => {
    const dv = client();
    const who = await dv.whoAmI();
    const row = await dv.retrieve('systemusers', who.UserId, ['applicationid']);
    assert.ok(row?.applicationid, 'the caller is an application user');
  });

  it('creates, reads, updates with the ETag and reports a stale one as DV_CONFLICT', async () => {
    const dv = client();
    const id = await dv.create('accounts', { name: 'Client Contoso' });
    const row = await dv.retrieve('accounts', id, ['name']);
    assert.equal(row?.name, 'Client Contoso');
    await dv.update('accounts', id, { name: 'Client Contoso Ltd' }, row!['@odata.etag']);
    const stale = await dv.update('accounts', id, { name: 'Lost write' }, row!['@odata.etag']).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(stale instanceof DataverseError);
    assert.equal(stale.code, 'DV_CONFLICT');
    assert.equal(stale.status, 412);
    assert.equal(await dv.retrieve('accounts', '00000000-0000-4000-8000-000000000000'), undefined);
    assert.equal(await dv.remove('accounts', id), true);
    assert.equal(await dv.remove('accounts', id), false);
  });

  it('upserts by alternate key with conditions, returning the ETag of the stored row', async () => {
    const dv = client();
    await dv.request('POST', 'publishers', {
      body: {
        uniquename: 'clienttest',
        friendlyname: 'c',
        customizationprefix: 'cli',
        customizationoptionvalueprefix: 10999,
      },
    });
    await dv.request('POST', "EntityDefinitions(LogicalName='opportunity')/Attributes", {
      body: {
        '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
        SchemaName: 'cli_Ref',
        MaxLength: 50,
      },
    });
    await dv.request('POST', "EntityDefinitions(LogicalName='opportunity')/Keys", {
      body: { SchemaName: 'cli_ref_key', KeyAttributes: ['cli_ref'] },
    });
    await waitFor(
      async () =>
        (
          await dv.request<{ EntityKeyIndexStatus: string }>(
            'GET',
            "EntityDefinitions(LogicalName='opportunity')/Keys(LogicalName='cli_ref_key')",
          )
        ).body.EntityKeyIndexStatus === 'Active',
    );
    const created = await dv.upsertByKey(
      'opportunities',
      { cli_ref: "o'brien-1" },
      { name: 'Keyed by client' },
      { createOnly: true, select: ['name'] },
    );
    assert.match(String(created['@odata.etag']), /^W\/"\d+"$/);
    assert.deepEqual(Object.keys(created).sort(), ['@odata.context', '@odata.etag', 'name', 'opportunityid']);
    const again = await dv
      .upsertByKey('opportunities', { cli_ref: "o'brien-1" }, { name: 'Twice' }, { createOnly: true })
      .catch((e: unknown) => e);
    assert.ok(again instanceof DataverseError && again.status === 412);
    const updated = await dv.upsertByKey(
      'opportunities',
      { cli_ref: "o'brien-1" },
      { name: 'Updated' },
      { ifMatch: String(created['@odata.etag']) },
    );
    assert.equal(updated.name, 'Updated');
    const stale = await dv
      .upsertByKey(
        'opportunities',
        { cli_ref: "o'brien-1" },
        { name: 'Stale' },
        { ifMatch: String(created['@odata.etag']) },
      )
      .catch((e: unknown) => e);
    assert.ok(stale instanceof DataverseError && stale.code === 'DV_CONFLICT');
    const missing = await dv
      .upsertByKey('opportunities', { cli_ref: 'nobody' }, { name: 'x' }, { ifMatch: '*' })
      .catch((e: unknown) => e);
    assert.ok(missing instanceof DataverseError && missing.code === 'DV_NOT_FOUND');
  });

  it('runs an atomic changeset with a Content-ID reference in one request', async () => {
    const dv = client();
    const before = contract.sandbox.counters().batches;
    const results = await dv.batch([
      {
        changeset: true,
        operations: [
          { method: 'POST', path: 'accounts', body: { name: 'Batch via client' }, contentId: '1' },
          {
            method: 'POST',
            path: 'opportunities',
            body: { name: 'Deal via client', 'parentaccountid@odata.bind': '$1' },
          },
        ],
      },
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      [204, 204],
    );
    assert.equal(contract.sandbox.counters().batches, before + 1);
    const opportunityId = /\(([^)]+)\)$/.exec(results[1].headers['odata-entityid'])![1];
    const accountId = /\(([^)]+)\)$/.exec(results[0].headers['odata-entityid'])![1];
    const opportunity = await dv.retrieve('opportunities', opportunityId, ['_parentaccountid_value']);
    assert.equal(opportunity?._parentaccountid_value, accountId);
  });

  it('keeps at most maxConcurrent requests in flight to the org', async () => {
    const dv = client({ maxConcurrent: 2 });
    await dv.whoAmI();
    contract.sandbox.faults.latencyMs = 40;
    contract.sandbox.resetCounters();
    try {
      await Promise.all(Array.from({ length: 8 }, () => dv.whoAmI()));
    } finally {
      contract.sandbox.faults.latencyMs = 0;
    }
    assert.equal(contract.sandbox.counters().peakConcurrent, 2);
    assert.equal(dv.stats().inFlight, 0);
  });

  it('after a 429 sends nothing to the org until Retry-After has passed, for every call', async () => {
    // A sleep the test releases by hand, on a clock that moves only then: no timing involved.
    let t = 1_000_000;
    const sleepers: Array<{ ms: number; wake: () => void }> = [];
    const dv = client({
      now: () => t,
      sleep: (ms) => new Promise<void>((wake) => sleepers.push({ ms, wake })),
    });
    await dv.whoAmI();
    const sent = () => contract.sandbox.counters().requests;
    const before = sent();
    contract.sandbox.faults.throttle(1, 7);
    const first = dv.whoAmI();
    await waitFor(() => sleepers.length === 1, { message: 'the throttled call to pause' });
    assert.equal(sleepers[0].ms, 7000);
    const others = [dv.whoAmI(), dv.whoAmI()];
    await waitFor(() => sleepers.length === 3, { message: 'the later calls to wait for the pause' });
    assert.equal(sent() - before, 1, 'only the throttled request reached the org');
    assert.equal(dv.stats().pausedUntil, 1_000_000 + 7000);
    t += 7000;
    for (const sleeper of sleepers) sleeper.wake();
    await Promise.all([first, ...others]);
    assert.equal(sent() - before, 4, 'the retry and the two waiting calls went after the pause');
    assert.equal(dv.stats().throttled, 1);
  });

  it('gives up on a call after maxThrottleRetries 429s with DV_THROTTLED and the Retry-After', async () => {
    const time = manualTime();
    const dv = client({ now: time.now, sleep: time.sleep, maxThrottleRetries: 2 });
    contract.sandbox.faults.throttle(2, 1);
    const error = await dv.whoAmI().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof DataverseError);
    assert.equal(error.code, 'DV_THROTTLED');
    assert.equal(error.retryAfterMs, 1000);
    assert.match(error.message, /0x80072322/);
  });

  it('counts its requests in the 5-minute window and waits when its budget is spent', async () => {
    const time = manualTime();
    const dv = client({ now: time.now, sleep: time.sleep, requestBudget: 3 });
    for (let i = 0; i < 3; i += 1) await dv.whoAmI();
    assert.equal(dv.stats().requestsInWindow, 3);
    assert.equal(
      dv.stats().serviceRemaining !== undefined,
      true,
      'the service reports its remaining requests',
    );
    await dv.whoAmI();
    assert.deepEqual(time.sleeps, [300_000], 'the fourth request waited for the oldest to leave the window');
    assert.equal(dv.stats().requestsInWindow, 1);
  });

  it('reads changes and deletions after a delta link', async () => {
    const dv = client();
    const definition = await dv.request<Record<string, unknown>>(
      'GET',
      "EntityDefinitions(LogicalName='lead')",
    );
    await dv.request('PUT', "EntityDefinitions(LogicalName='lead')", {
      body: { ...definition.body, ChangeTrackingEnabled: true },
    });
    const keep = await dv.create('leads', { subject: 'Delta keep', lastname: 'K' });
    const drop = await dv.create('leads', { subject: 'Delta drop', lastname: 'D' });
    const baseline = await dv.changes('leads', ['subject']);
    assert.ok(baseline.rows.some((r) => r.leadid === keep));
    await dv.update('leads', keep, { subject: 'Delta kept' });
    await dv.remove('leads', drop);
    const delta = await dv.changes(baseline.deltaLink, ['subject']);
    assert.deepEqual(
      delta.rows.map((r) => r.subject),
      ['Delta kept'],
    );
    assert.deepEqual(delta.deleted, [drop]);
  });
});
