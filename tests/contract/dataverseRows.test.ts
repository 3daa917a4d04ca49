import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DynamicsWebApi } from 'dynamics-web-api';
import { waitFor } from '../support/waitFor.ts';
import { failure, startDataverseContract } from './support/dataverseSetup.ts';
import type { DataverseContract, WebApiError } from './support/dataverseSetup.ts';

/**
 * The Dataverse sandbox's rows as a plain dynamics-web-api 2.x client meets them, with none of the
 * relay's code: CRUD, $filter / paging, alternate keys, weak ETags, $batch changesets, change
 * tracking, the close messages, WhoAmI and the 429 of the service protection limits.
 */

/** Rows as the client returns them: JSON whose shape the assertions check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = any;

let contract: DataverseContract;
let api: DynamicsWebApi;

const KEY_COLUMN = 'csync_referralidentifier';

before(async () => {
  contract = await startDataverseContract();
  api = contract.client({ propagateErrors: true });
  // The relay's key column and its alternate key, made the way an installer makes them.
  await api.create<Row, Row>({
    collection: 'publishers',
    data: {
      uniquename: 'cosellsync',
      friendlyname: 'cosell-sync',
      customizationprefix: 'csync',
      customizationoptionvalueprefix: 10501,
    },
  });
  await api.createAttribute({
    entityKey: "LogicalName='opportunity'",
    data: {
      '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
      SchemaName: 'csync_ReferralIdentifier',
      MaxLength: 100,
      DisplayName: { LocalizedLabels: [{ Label: 'Referral Identifier', LanguageCode: 1033 }] },
    },
  });
  await api.create<Row, Row>({
    collection: `EntityDefinitions(LogicalName='opportunity')/Keys`,
    data: { SchemaName: 'csync_referralidentifier_key', KeyAttributes: [KEY_COLUMN] },
  });
  await waitFor(
    async () => {
      const key = await api.retrieve({
        collection: `EntityDefinitions(LogicalName='opportunity')/Keys`,
        key: "LogicalName='csync_referralidentifier_key'",
      });
      return key.EntityKeyIndexStatus === 'Active';
    },
    { message: 'the alternate key index to be Active' },
  );
});
after(() => contract.close());

describe('rows', () => {
  it('creates, reads with $select, updates and deletes an opportunity with its account', async () => {
    const account = await api.create<Row, Row>({
      collection: 'accounts',
      data: { name: 'Contoso', address1_postalcode: '98052', address1_country: 'US' },
      returnRepresentation: true,
    });
    assert.match(account.accountid, /^[0-9a-f-]{36}$/);
    assert.match(account['@odata.etag'], /^W\/"\d+"$/);
    const id = await api.create<Row, Row>({
      collection: 'opportunities',
      data: {
        name: 'Contoso migration',
        estimatedvalue: 1200.5,
        estimatedclosedate: '2026-12-31',
        'parentaccountid@odata.bind': `/accounts(${account.accountid})`,
      },
    });
    const row = await api.retrieve({
      collection: 'opportunities',
      key: id,
      select: [
        'name',
        'estimatedvalue',
        '_parentaccountid_value',
        '_transactioncurrencyid_value',
        'statecode',
        'statuscode',
      ],
    });
    assert.equal(row.name, 'Contoso migration');
    assert.equal(row.estimatedvalue, 1200.5);
    assert.equal(row._parentaccountid_value, account.accountid);
    assert.ok(row._transactioncurrencyid_value, 'money gets the base currency when none is given');
    assert.equal(row.statecode, 0);
    assert.equal(row.statuscode, 1);
    assert.equal('description' in row, false, '$select returns only the selected columns');
    const updated = await api.update<Row, Row>({
      collection: 'opportunities',
      key: id,
      data: { salesstage: 2 },
      returnRepresentation: true,
    });
    assert.equal(updated.salesstage, 2);
    assert.notEqual(updated['@odata.etag'], row['@odata.etag']);
    await api.deleteRecord({ collection: 'opportunities', key: id });
    const gone = await failure(api.retrieve({ collection: 'opportunities', key: id }));
    assert.equal(gone.status, 404);
    assert.equal(gone.code, '0x80040217');
  });

  it('rejects a column the table does not have, naming it', async () => {
    const error = await failure(
      api.create<Row, Row>({ collection: 'opportunities', data: { name: 'x', csync_nosuchcolumn: 1 } }),
    );
    assert.equal(error.status, 400);
    assert.match(error.message, /csync_nosuchcolumn/);
  });

  it('rejects a string longer than the column allows and a choice value outside the options', async () => {
    const tooLong = await failure(
      api.create<Row, Row>({
        collection: 'opportunities',
        data: { name: 'x', [KEY_COLUMN]: 'r'.repeat(101) },
      }),
    );
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.message, /maximum allowed length of '100'/);
    const badChoice = await failure(
      api.create<Row, Row>({ collection: 'opportunities', data: { name: 'x', salesstage: 7 } }),
    );
    assert.equal(badChoice.status, 400);
  });

  it('filters with eq, ne, and, or, contains, startswith, null and date comparisons', async () => {
    const names = ['Filter Alpha', 'Filter Beta', 'Filter Gamma'];
    for (const [i, name] of names.entries())
      await api.create<Row, Row>({
        collection: 'opportunities',
        data: { name, estimatedclosedate: `2027-0${i + 1}-15`, description: i === 2 ? null : 'has text' },
      });
    const ids = async (filter: string) =>
      (await api.retrieveMultiple({ collection: 'opportunities', select: ['name'], filter })).value
        .map((r) => r.name as string)
        .sort();
    assert.deepEqual(await ids("name eq 'Filter Beta'"), ['Filter Beta']);
    assert.deepEqual(await ids("startswith(name,'Filter') and name ne 'Filter Beta'"), [
      'Filter Alpha',
      'Filter Gamma',
    ]);
    assert.deepEqual(await ids("contains(name,'amm') or name eq 'Filter Alpha'"), [
      'Filter Alpha',
      'Filter Gamma',
    ]);
    assert.deepEqual(await ids("startswith(name,'Filter') and description eq null"), ['Filter Gamma']);
    assert.deepEqual(await ids("startswith(name,'Filter') and estimatedclosedate gt 2027-01-31"), [
      'Filter Beta',
      'Filter Gamma',
    ]);
    const bad = await failure(api.retrieveMultiple({ collection: 'opportunities', filter: 'nosuch eq 1' }));
    assert.equal(bad.status, 400);
  });

  it('pages with odata.maxpagesize and @odata.nextLink, and stops at $top', async () => {
    for (let i = 0; i < 7; i += 1)
      await api.create<Row, Row>({
        collection: 'leads',
        data: { subject: `Paged lead ${i}`, lastname: `L${i}` },
      });
    const first = await api.retrieveMultiple({ collection: 'leads', select: ['subject'], maxPageSize: 3 });
    assert.equal(first.value.length, 3);
    assert.ok(first.oDataNextLink, 'a nextLink follows a full page');
    const all = await api.retrieveAll({ collection: 'leads', select: ['subject'], maxPageSize: 3 });
    assert.equal(all.value.length, 7);
    assert.equal(new Set(all.value.map((r) => r.leadid)).size, 7);
    const top = await api.retrieveMultiple({ collection: 'leads', top: 2 });
    assert.equal(top.value.length, 2);
  });
});

describe('alternate keys', () => {
  it('upserts by key: the first PATCH creates, the second updates the same row', async () => {
    const key = `${KEY_COLUMN}='ref-upsert-1'`;
    const created = await api.upsert<Row, Row>({
      collection: 'opportunities',
      key,
      data: { name: 'Upserted' },
      returnRepresentation: true,
    });
    const again = await api.upsert<Row, Row>({
      collection: 'opportunities',
      key,
      data: { name: 'Upserted again' },
      returnRepresentation: true,
    });
    assert.equal(again.opportunityid, created.opportunityid);
    assert.equal(again[KEY_COLUMN], 'ref-upsert-1');
    const read = await api.retrieve({ collection: 'opportunities', key, select: ['name'] });
    assert.equal(read.name, 'Upserted again');
  });

  it('refuses a second row with the same key value and a key value with a forbidden character', async () => {
    await api.create<Row, Row>({
      collection: 'opportunities',
      data: { name: 'Keyed', [KEY_COLUMN]: 'ref-dup' },
    });
    const duplicate = await failure(
      api.create<Row, Row>({
        collection: 'opportunities',
        data: { name: 'Keyed twice', [KEY_COLUMN]: 'REF-DUP' },
      }),
    );
    assert.equal(duplicate.status, 412);
    assert.equal(duplicate.code, '0x80040237');
    const forbidden = await failure(
      api.retrieve({ collection: 'opportunities', key: `${KEY_COLUMN}='a:b'` }),
    );
    assert.equal(forbidden.status, 400);
  });

  it('answers 404 for a key value no row has', async () => {
    const missing = await failure(
      api.retrieve({ collection: 'opportunities', key: `${KEY_COLUMN}='never-made'` }),
    );
    assert.equal(missing.status, 404);
  });
});

describe('ETags', () => {
  it('fails a stale If-Match with 412 and applies a current one', async () => {
    const row = await api.create<Row, Row>({
      collection: 'opportunities',
      data: { name: 'Versioned' },
      returnRepresentation: true,
    });
    const etag = row['@odata.etag'] as string;
    await api.update<Row, Row>({
      collection: 'opportunities',
      key: row.opportunityid,
      data: { name: 'Versioned by a seller' },
    });
    const stale = await failure(
      api.update<Row, Row>({
        collection: 'opportunities',
        key: row.opportunityid,
        data: { name: 'Versioned by the relay' },
        ifmatch: etag,
      }),
    );
    assert.equal(stale.status, 412);
    const current = await api.retrieve({
      collection: 'opportunities',
      key: row.opportunityid,
      select: ['name'],
    });
    assert.equal(current.name, 'Versioned by a seller');
    await api.update<Row, Row>({
      collection: 'opportunities',
      key: row.opportunityid,
      data: { name: 'Versioned by the relay' },
      ifmatch: current['@odata.etag'],
    });
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const row = await api.create<Row, Row>({
      collection: 'contacts',
      data: { firstname: 'Ada', lastname: 'Lovelace' },
      returnRepresentation: true,
    });
    assert.equal(row.fullname, 'Ada Lovelace');
    const token = await contract.token();
    const response = await fetch(`${contract.sandbox.webApiUrl}contacts(${row.contactid})`, {
      headers: {
        authorization: `Bearer ${token}`,
        'if-none-match': row['@odata.etag'],
        accept: 'application/json',
      },
    });
    assert.equal(response.status, 304);
    const changed = await fetch(`${contract.sandbox.webApiUrl}contacts(${row.contactid})`, {
      headers: { authorization: `Bearer ${token}`, 'if-none-match': 'W/"1"', accept: 'application/json' },
    });
    assert.equal(changed.status, 200);
    assert.equal(changed.headers.get('etag'), row['@odata.etag']);
  });

  it('creates only with If-None-Match: * (412 when the row exists) and updates only with If-Match: * (404 when missing)', async () => {
    const key = `${KEY_COLUMN}='ref-create-only'`;
    await api.upsert<Row, Row>({
      collection: 'opportunities',
      key,
      data: { name: 'Made once' },
      ifnonematch: '*',
    });
    const again = await failure(
      api.upsert<Row, Row>({
        collection: 'opportunities',
        key,
        data: { name: 'Made twice' },
        ifnonematch: '*',
      }),
    );
    assert.equal(again.status, 412);
    const missing = await failure(
      api.upsert<Row, Row>({
        collection: 'opportunities',
        key: `${KEY_COLUMN}='ref-update-only'`,
        data: { name: 'x' },
        ifmatch: '*',
      }),
    );
    assert.equal(missing.status, 404);
  });
});

describe('$batch', () => {
  it('runs a changeset with a Content-ID reference: the opportunity binds the account made before it', async () => {
    api.startBatch();
    api.create<Row, Row>({ collection: 'accounts', data: { name: 'Batch Fabrikam' }, contentId: '1' });
    api.create<Row, Row>({
      collection: 'opportunities',
      data: { name: 'Batch deal', 'parentaccountid@odata.bind': '$1' },
    });
    const [accountId, opportunityId] = await api.executeBatch();
    const opportunity = await api.retrieve({
      collection: 'opportunities',
      key: opportunityId,
      select: ['_parentaccountid_value'],
    });
    assert.equal(opportunity._parentaccountid_value, accountId);
  });

  it('keeps nothing of a changeset whose last request fails', async () => {
    api.startBatch();
    api.create<Row, Row>({ collection: 'accounts', data: { name: 'Batch Rollback Inc' }, contentId: '1' });
    api.create<Row, Row>({
      collection: 'opportunities',
      data: { name: 'Rolled back', 'parentaccountid@odata.bind': '$1' },
    });
    api.create<Row, Row>({ collection: 'opportunities', data: { name: 'Broken', csync_nosuchcolumn: true } });
    const result = await api.executeBatch().then(
      (r) => r,
      (error: unknown) => [error],
    );
    const errors = (result as unknown[]).filter((r): r is WebApiError => r instanceof Error);
    assert.equal(errors.length, 1, 'the failed request is reported');
    assert.equal(errors[0].status, 400);
    const accounts = await api.retrieveMultiple({
      collection: 'accounts',
      filter: "name eq 'Batch Rollback Inc'",
    });
    assert.equal(accounts.value.length, 0);
    const opportunities = await api.retrieveMultiple({
      collection: 'opportunities',
      filter: "name eq 'Rolled back'",
    });
    assert.equal(opportunities.value.length, 0);
  });

  it('answers GETs outside changesets and upserts by key inside one', async () => {
    api.startBatch();
    api.upsert<Row, Row>({
      collection: 'opportunities',
      key: `${KEY_COLUMN}='ref-batch-1'`,
      data: { name: 'Batch upsert 1' },
    });
    api.upsert<Row, Row>({
      collection: 'opportunities',
      key: `${KEY_COLUMN}='ref-batch-2'`,
      data: { name: 'Batch upsert 2' },
    });
    api.retrieveMultiple({
      collection: 'opportunities',
      select: ['name'],
      filter: "startswith(name,'Batch upsert')",
    });
    const responses = await api.executeBatch();
    const list = responses[2] as { value: Array<{ name: string }> };
    assert.deepEqual(list.value.map((r) => r.name).sort(), ['Batch upsert 1', 'Batch upsert 2']);
  });
});

describe('change tracking', () => {
  it('refuses delta queries until change tracking is enabled on the table', async () => {
    const error = await failure(
      api.retrieveMultiple({ collection: 'accounts', select: ['name'], trackChanges: true }),
    );
    assert.equal(error.status, 400);
  });

  it('returns changed rows and deleted ones after the delta link', async () => {
    // An admin tool reads the definition, flips the flag and PUTs it back.
    const definition = await api.retrieveEntity({ key: "LogicalName='opportunity'" });
    await api.updateEntity({ data: { ...definition, ChangeTrackingEnabled: true } });
    const entity = await api.retrieveEntity({
      key: "LogicalName='opportunity'",
      select: ['ChangeTrackingEnabled'],
    });
    assert.equal(entity.ChangeTrackingEnabled, true);
    const kept = await api.create<Row, Row>({ collection: 'opportunities', data: { name: 'Tracked kept' } });
    const doomed = await api.create<Row, Row>({
      collection: 'opportunities',
      data: { name: 'Tracked doomed' },
    });
    const baseline = await api.retrieveAll({
      collection: 'opportunities',
      select: ['name'],
      trackChanges: true,
      maxPageSize: 5,
    });
    assert.ok(baseline.value.length >= 2);
    assert.ok(baseline.oDataDeltaLink, 'the last page carries the delta link');
    assert.match(baseline.oDataDeltaLink!, /\$deltatoken=/);
    await api.update<Row, Row>({
      collection: 'opportunities',
      key: kept,
      data: { name: 'Tracked kept, renamed' },
    });
    await api.deleteRecord({ collection: 'opportunities', key: doomed });
    const added = await api.create<Row, Row>({ collection: 'opportunities', data: { name: 'Tracked new' } });
    const delta = await api.retrieveMultiple({ collection: 'opportunities' }, baseline.oDataDeltaLink);
    const byId = new Map(delta.value.map((r) => [(r.opportunityid ?? r.id) as string, r]));
    assert.equal(byId.size, 3);
    assert.equal(byId.get(kept)!.name, 'Tracked kept, renamed');
    assert.equal(byId.get(added)!.name, 'Tracked new');
    assert.deepEqual(
      {
        reason: byId.get(doomed)!.reason,
        deleted: String(byId.get(doomed)!['@odata.context']).endsWith('/$deletedEntity'),
      },
      { reason: 'deleted', deleted: true },
    );
    const quiet = await api.retrieveMultiple({ collection: 'opportunities' }, delta.oDataDeltaLink);
    assert.equal(quiet.value.length, 0, 'nothing changed since the last delta link');
  });
});

describe('closing an opportunity', () => {
  it('wins through WinOpportunity and refuses a PATCH of the closed row', async () => {
    const id = await api.create<Row, Row>({ collection: 'opportunities', data: { name: 'To be won' } });
    await api.callAction({
      actionName: 'WinOpportunity',
      action: {
        Status: 3,
        OpportunityClose: { subject: 'Won', 'opportunityid@odata.bind': `/opportunities(${id})` },
      },
    });
    const row = await api.retrieve({
      collection: 'opportunities',
      key: id,
      select: ['statecode', 'statuscode'],
    });
    assert.deepEqual([row.statecode, row.statuscode], [1, 3]);
    const patch = await failure(
      api.update<Row, Row>({ collection: 'opportunities', key: id, data: { name: 'Renamed after the win' } }),
    );
    assert.equal(patch.status, 400);
    assert.match(patch.message, /closed/);
  });

  it('refuses to close by PATCHing statecode, and a lost status that is not 4 or 5', async () => {
    const id = await api.create<Row, Row>({ collection: 'opportunities', data: { name: 'To be lost' } });
    const patch = await failure(
      api.update<Row, Row>({ collection: 'opportunities', key: id, data: { statecode: 2, statuscode: 4 } }),
    );
    assert.equal(patch.status, 400);
    const wrong = await failure(
      api.callAction({
        actionName: 'LoseOpportunity',
        action: { Status: 3, OpportunityClose: { 'opportunityid@odata.bind': `/opportunities(${id})` } },
      }),
    );
    assert.equal(wrong.status, 400);
    await api.callAction({
      actionName: 'LoseOpportunity',
      action: {
        Status: 5,
        OpportunityClose: { subject: 'Out-sold', 'opportunityid@odata.bind': `/opportunities(${id})` },
      },
    });
    const row = await api.retrieve({
      collection: 'opportunities',
      key: id,
      select: ['statecode', 'statuscode'],
    });
    assert.deepEqual([row.statecode, row.statuscode], [2, 5]);
  });
});

describe('identity and limits', () => {
  it('answers WhoAmI with the application user behind the token', async () => {
    const who = await api.callFunction('WhoAmI');
    assert.match(who.UserId, /^[0-9a-f-]{36}$/);
    const created = await api.create<Row, Row>({
      collection: 'accounts',
      data: { name: 'Mine' },
      returnRepresentation: true,
    });
    assert.equal(created._createdby_value, who.UserId);
    assert.notEqual(who.UserId, contract.sandbox.sellerUserId);
  });

  it('refuses a request without a token, or with a token for another resource', async () => {
    const anonymous = await fetch(`${contract.sandbox.webApiUrl}WhoAmI`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /Bearer/);
    const body = (await anonymous.json()) as { error: { code: string; message: string } };
    assert.match(body.error.code, /^0x[0-9a-f]{8}$/);
    const other = await contract.msal.acquireTokenByClientCredential({
      scopes: ['https://another.crm.dynamics.com/.default'],
    });
    const foreign = await fetch(`${contract.sandbox.webApiUrl}WhoAmI`, {
      headers: { authorization: `Bearer ${other!.accessToken}` },
    });
    assert.equal(foreign.status, 401);
    assert.match(((await foreign.json()) as { error: { message: string } }).error.message, /not issued for/);
  });

  it('answers 429 with Retry-After while throttled, then serves again', async () => {
    contract.sandbox.faults.throttle(1, 7);
    const throttled = await failure(api.callFunction('WhoAmI'));
    assert.equal(throttled.status, 429);
    assert.equal(throttled.code, '0x80072322');
    assert.equal(throttled.headers?.['retry-after'], '7');
    const who = await api.callFunction('WhoAmI');
    assert.ok(who.UserId);
  });

  it('counts requests per user against the window and answers 429 past the limit', async () => {
    const small = await startDataverseContract({ requestLimit: 3 });
    try {
      const client = small.client();
      for (let i = 0; i < 3; i += 1) await client.callFunction('WhoAmI');
      const over = await failure(client.callFunction('WhoAmI'));
      assert.equal(over.status, 429);
      assert.ok(Number(over.headers?.['retry-after']) >= 1);
    } finally {
      await small.close();
    }
  });

  it('answers 429 past the concurrent-request limit', async () => {
    const small = await startDataverseContract({ concurrentLimit: 1 });
    try {
      const client = small.client();
      await client.callFunction('WhoAmI');
      small.sandbox.faults.latencyMs = 100;
      const results = await Promise.allSettled([
        client.callFunction('WhoAmI'),
        client.callFunction('WhoAmI'),
        client.callFunction('WhoAmI'),
      ]);
      const refused = results
        .filter((r) => r.status === 'rejected')
        .map((r) => (r as PromiseRejectedResult).reason as WebApiError);
      assert.ok(refused.length >= 1, 'at least one request found the only slot taken');
      for (const error of refused) {
        assert.equal(error.status, 429);
        assert.equal(error.code, '0x80072326');
      }
    } finally {
      await small.close();
    }
  });
});
