import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jsforce from 'jsforce';
import type { Connection } from 'jsforce';
import { createSalesforceRestSandbox } from '../../relay/sandbox/salesforce/rest.ts';
import type { SalesforceRestSandbox } from '../../relay/sandbox/salesforce/rest.ts';

/**
 * The Salesforce REST sandbox seen by a plain jsforce 3 client, with none of the relay's code:
 * each fidelity point of the REST contract (documented behaviour of API 62.0, the relay's
 * configured version) as an admin tool or a third-party integration would meet it.
 */
const VERSION = '62.0';
const DAY_MS = 86_400_000;
const day = (offsetDays: number): string =>
  new Date(Date.now() + offsetDays * DAY_MS).toISOString().slice(0, 10);

let sandbox: SalesforceRestSandbox;

async function connect(version = VERSION): Promise<Connection> {
  const { loginUrl, clientId, clientSecret } = sandbox.relayCredentials;
  const conn = new jsforce.Connection({ version, oauth2: { loginUrl, clientId, clientSecret } });
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}

function opportunity(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { Name: 'Contoso migration', StageName: 'Qualification', CloseDate: '2026-12-31', ...overrides };
}

before(async () => {
  sandbox = await createSalesforceRestSandbox();
});
after(() => sandbox.close());

describe('upsert by external id', () => {
  it('answers an update of an existing record with its id and created: false (API 46.0 and later)', async () => {
    const conn = await connect();
    const first = await conn
      .sobject('Opportunity')
      .upsert(opportunity({ Referral_Identifier__c: 'contract-upsert' }), 'Referral_Identifier__c');
    assert.equal(first.success, true);
    assert.equal((first as { created?: boolean }).created, true);
    const again = await conn
      .sobject('Opportunity')
      .upsert({ Referral_Identifier__c: 'contract-upsert', Amount: 42 }, 'Referral_Identifier__c');
    assert.deepEqual(again, { id: first.id, success: true, errors: [], created: false });
  });

  it('answers as API 45.0 did for a client pinned to it: no body, so jsforce reports no id', async () => {
    const conn = await connect('45.0');
    await conn
      .sobject('Opportunity')
      .upsert(opportunity({ Referral_Identifier__c: 'contract-upsert-45' }), 'Referral_Identifier__c');
    const again = await conn
      .sobject('Opportunity')
      .upsert({ Referral_Identifier__c: 'contract-upsert-45', Amount: 1 }, 'Referral_Identifier__c');
    assert.equal(again.success, true);
    assert.equal('created' in again, false);
  });
});

describe('sObject Collections', () => {
  it('gives a failed entry no id, with or without allOrNone', async () => {
    const conn = await connect();
    const partial = await conn
      .sobject('Opportunity')
      .create([opportunity(), opportunity({ Name: undefined })], { allOrNone: false });
    assert.equal(partial[0].success, true);
    assert.ok(partial[0].id);
    assert.equal(partial[1].success, false);
    assert.equal('id' in partial[1], false, JSON.stringify(partial[1]));
    assert.equal(
      (partial[1].errors[0] as unknown as { statusCode: string }).statusCode,
      'REQUIRED_FIELD_MISSING',
    );

    const allOrNone = await conn
      .sobject('Opportunity')
      .create([opportunity(), opportunity({ Name: undefined })], { allOrNone: true });
    assert.deepEqual(
      allOrNone.map((result) => ['id' in result, result.success]),
      [
        [false, false],
        [false, false],
      ],
    );
    assert.equal(
      (allOrNone[0].errors[0] as unknown as { statusCode: string }).statusCode,
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
    );
  });
});

describe('SOQL', () => {
  const tag = 'paging';
  before(() => {
    const user = sandbox.integrationUser.id;
    for (let i = 0; i < 4001; i += 1)
      sandbox.store.insert('Opportunity', opportunity({ Name: `${tag} ${i}`, NextStep: tag }), user);
  });

  it('pages with 18-character query locators and repeats totalSize on every batch', async () => {
    const conn = await connect();
    const first = await conn.query(`SELECT Id FROM Opportunity WHERE NextStep = '${tag}'`, {
      autoFetch: false,
    });
    assert.equal(first.totalSize, 4001);
    assert.equal(first.done, false);
    assert.equal(first.records.length, 2000);
    const locator = /\/services\/data\/v62\.0\/query\/([A-Za-z0-9]{18})-2000$/.exec(
      first.nextRecordsUrl ?? '',
    );
    assert.ok(locator, first.nextRecordsUrl);
    assert.ok(locator[1].startsWith('01g'), 'a query locator id');

    const second = await conn.queryMore(first.nextRecordsUrl!);
    assert.equal(second.totalSize, 4001);
    assert.ok(
      second.nextRecordsUrl?.endsWith(`/services/data/v62.0/query/${locator[1]}-4000`),
      'the same locator, next offset',
    );
    const third = await conn.queryMore(second.nextRecordsUrl!);
    assert.deepEqual([third.totalSize, third.done, third.records.length], [4001, true, 1]);
    assert.equal(third.nextRecordsUrl, undefined);

    const all = await conn.query(`SELECT Id FROM Opportunity WHERE NextStep = '${tag}'`).run({
      autoFetch: true,
      maxFetch: 10_000,
    });
    assert.equal(new Set((all.records as Array<{ Id: string }>).map((r) => r.Id)).size, 4001);
  });

  it('answers SELECT COUNT() with totalSize and no records, and COUNT(field) as an AggregateResult', async () => {
    const conn = await connect();
    const counted = await conn.query(`SELECT COUNT() FROM Opportunity WHERE NextStep = '${tag}'`);
    assert.deepEqual([counted.totalSize, counted.done, counted.records], [4001, true, []]);
    const limited = await conn.query(`SELECT COUNT() FROM Opportunity WHERE NextStep = '${tag}' LIMIT 10`);
    assert.equal(limited.totalSize, 10);
    const aggregate = await conn.query<{ expr0: number }>(
      `SELECT COUNT(Amount) FROM Opportunity WHERE NextStep = '${tag}'`,
    );
    assert.equal(aggregate.totalSize, 1);
    assert.equal(aggregate.records[0].expr0, 0, 'COUNT(field) counts non-null values');
  });

  it('filters with the day-based date literals TODAY, LAST_N_DAYS:n, NEXT_N_DAYS:n and YESTERDAY', async () => {
    const conn = await connect();
    const user = sandbox.integrationUser.id;
    const byOffset = new Map<number, string>();
    for (const offset of [-40, -7, -3, -1, 0, 1, 5]) {
      const saved = sandbox.store.insert(
        'Opportunity',
        opportunity({ Name: `dated ${offset}`, NextStep: 'dated', CloseDate: day(offset) }),
        user,
      );
      byOffset.set(offset, String(saved.Id));
    }
    const names = async (condition: string): Promise<string[]> => {
      const result = await conn.query<{ Name: string }>(
        `SELECT Name FROM Opportunity WHERE NextStep = 'dated' AND ${condition} ORDER BY CloseDate`,
      );
      return result.records.map((record) => record.Name.replace('dated ', ''));
    };
    assert.deepEqual(await names('CloseDate = TODAY'), ['0']);
    assert.deepEqual(await names('CloseDate = YESTERDAY'), ['-1']);
    assert.deepEqual(
      await names('CloseDate = LAST_N_DAYS:7'),
      ['-7', '-3', '-1', '0'],
      'today and the 7 days before',
    );
    assert.deepEqual(await names('CloseDate = NEXT_N_DAYS:5'), ['1', '5'], 'from tomorrow, 5 days');
    assert.deepEqual(await names('CloseDate > TODAY'), ['1', '5']);
    assert.deepEqual(await names('CloseDate < LAST_N_DAYS:7'), ['-40']);
    assert.deepEqual(await names('CloseDate = N_DAYS_AGO:3'), ['-3']);
    const createdToday = await conn.query(
      `SELECT COUNT() FROM Opportunity WHERE NextStep = 'dated' AND CreatedDate = TODAY`,
    );
    assert.equal(createdToday.totalSize, 7, 'datetime fields too');
    await assert.rejects(
      async () => conn.query('SELECT Id FROM Opportunity WHERE Name = TODAY'),
      /INVALID_QUERY_FILTER_OPERATOR|must be of type/,
    );
  });
});

describe('limits', () => {
  it('serves /limits with DailyApiRequests matching Sforce-Limit-Info', async () => {
    const conn = await connect();
    const limits = (await conn.limits()) as unknown as {
      DailyApiRequests: { Max: number; Remaining: number };
    };
    const usage = conn.limitInfo?.apiUsage;
    assert.ok(usage, 'the header came with the /limits response');
    assert.equal(limits.DailyApiRequests.Max, usage.limit);
    assert.equal(limits.DailyApiRequests.Remaining, usage.limit - usage.used);
  });
});

describe('describe', () => {
  it('carries the DescribeSObject and DescribeField properties a schema-aware client reads', async () => {
    const conn = await connect();
    const described = await conn.sobject('Opportunity').describe();
    for (const key of [
      'name',
      'label',
      'labelPlural',
      'keyPrefix',
      'createable',
      'updateable',
      'queryable',
      'custom',
      'urls',
      'recordTypeInfos',
      'childRelationships',
    ])
      assert.ok(key in described, `DescribeSObjectResult.${key}`);
    const field = (name: string) => {
      const found = described.fields.find((f) => f.name === name);
      assert.ok(found, name);
      return found;
    };
    const name = field('Name');
    assert.deepEqual(
      [
        name.type,
        name.length,
        name.nillable,
        name.createable,
        name.updateable,
        name.calculated,
        name.nameField,
      ],
      ['string', 120, false, true, true, false, true],
    );
    const amount = field('Amount');
    assert.deepEqual(
      [amount.type, amount.precision, amount.scale, amount.nillable],
      ['currency', 18, 2, true],
    );
    const stage = field('StageName');
    assert.equal(stage.restrictedPicklist, true);
    assert.ok(stage.picklistValues!.some((value) => value.value === 'Closed Won' && value.active));
    const currency = field('CurrencyIsoCode');
    assert.equal(currency.defaultedOnCreate, true);
    assert.deepEqual(
      currency.picklistValues!.filter((value) => value.defaultValue).map((value) => value.value),
      ['USD'],
    );
    const id = field('Id');
    assert.deepEqual(
      [id.type, id.nillable, id.createable, id.defaultedOnCreate, id.idLookup],
      ['id', false, false, true, true],
    );
    const key = field('Referral_Identifier__c');
    assert.deepEqual([key.custom, key.externalId, key.idLookup, key.nillable], [true, true, true, true]);
    const count = field('Relay_Write_Count__c');
    assert.deepEqual([count.type, count.precision, count.scale], ['double', 18, 0]);
    for (const f of described.fields)
      for (const property of [
        'nillable',
        'createable',
        'updateable',
        'defaultedOnCreate',
        'length',
        'precision',
        'scale',
        'picklistValues',
        'restrictedPicklist',
        'calculated',
        'soapType',
        'byteLength',
        'filterable',
        'sortable',
      ])
        assert.ok(property in f, `${f.name}.${property}`);
  });
});
