import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRecordStore, RecordWriteError } from './recordStore.ts';
import { createSchemaRegistry, parseCustomFieldXml } from './schema.ts';
import { parseSoql, SoqlError } from './soql.ts';
import { DEFAULT_INTEGRATION_USER, DEFAULT_SELLER_USER } from './users.ts';

const user = DEFAULT_INTEGRATION_USER.id;

function seededStore() {
  const store = createRecordStore({ users: [DEFAULT_INTEGRATION_USER, DEFAULT_SELLER_USER] });
  const account = store.insert('Account', { Name: 'Northwind', BillingPostalCode: '02110' }, user);
  const rows = [
    { Name: 'A', StageName: 'Prospecting', Amount: 10, Referral_Identifier__c: 'r-a', AccountId: account.Id },
    { Name: 'B', StageName: 'Closed Won', Amount: 20, Referral_Identifier__c: 'r-b' },
    { Name: 'C', StageName: 'Closed Lost', Amount: null, Description: "it's done" },
  ].map((r) => store.insert('Opportunity', { CloseDate: '2026-06-30', ...r }, user));
  return { store, account, rows };
}

describe('sandbox SOQL', () => {
  it('treats != as including nulls and < as excluding them, like SOQL', () => {
    const { store } = seededStore();
    const names = (soql: string) => store.query(soql).records.map((r) => r.Name);
    assert.deepEqual(
      names("SELECT Name FROM Opportunity WHERE Referral_Identifier__c != 'r-a' ORDER BY Name"),
      ['B', 'C'],
    );
    assert.deepEqual(names('SELECT Name FROM Opportunity WHERE Amount < 15'), ['A']);
    assert.deepEqual(names('SELECT Name FROM Opportunity WHERE Amount = null'), ['C']);
    assert.deepEqual(
      names("SELECT Name FROM Opportunity WHERE Referral_Identifier__c NOT IN ('r-a', 'r-b')"),
      ['C'],
    );
  });

  it('reads escaped quotes, LIKE patterns, NOT and ORDER BY with NULLS LAST', () => {
    const { store } = seededStore();
    const names = (soql: string) => store.query(soql).records.map((r) => r.Name);
    assert.deepEqual(names("SELECT Name FROM Opportunity WHERE Description = 'it\\'s done'"), ['C']);
    assert.deepEqual(
      names("SELECT Name FROM Opportunity WHERE StageName LIKE 'closed%' AND NOT (IsWon = true)"),
      ['C'],
    );
    assert.deepEqual(names('SELECT Name FROM Opportunity ORDER BY Amount DESC NULLS LAST LIMIT 2'), [
      'B',
      'A',
    ]);
  });

  it('filters on parent fields and returns null for a missing parent', () => {
    const { store } = seededStore();
    const result = store.query(
      "SELECT Name, Account.Name FROM Opportunity WHERE Account.BillingPostalCode = '02110' OR Name = 'B' ORDER BY Name",
    );
    assert.deepEqual(
      result.records.map((r) => [r.Name, (r.Account as { Name?: string } | null)?.Name ?? null]),
      [
        ['A', 'Northwind'],
        ['B', null],
      ],
    );
  });

  it('rejects mixing AND and OR without parentheses, as Salesforce does', () => {
    assert.throws(
      () => parseSoql("SELECT Id FROM Opportunity WHERE Name = 'a' AND Name = 'b' OR Name = 'c'"),
      (e: unknown) => e instanceof SoqlError && e.errorCode === 'MALFORMED_QUERY',
    );
  });

  it('rejects an unknown relationship and a quoted boolean', () => {
    const { store } = seededStore();
    assert.throws(
      () => store.query('SELECT Owner2.Name FROM Opportunity'),
      (e: unknown) =>
        e instanceof SoqlError &&
        e.errorCode === 'INVALID_FIELD' &&
        /Didn't understand relationship 'Owner2'/.test(e.message),
    );
    assert.throws(
      () => store.query("SELECT Id FROM Opportunity WHERE IsWon = 'true'"),
      (e: unknown) => e instanceof SoqlError && e.errorCode === 'INVALID_QUERY_FILTER_OPERATOR',
    );
    assert.throws(
      () => store.query('SELECT Id FROM Nothing__c'),
      (e: unknown) => e instanceof SoqlError && e.errorCode === 'INVALID_TYPE',
    );
  });
});

describe('sandbox schema and store', () => {
  it('reads types, lengths and restricted picklists from force-app XML', () => {
    const schema = createSchemaRegistry();
    const referralId = schema.field('Opportunity', 'referral_identifier__c')!;
    assert.deepEqual(
      [referralId.type, referralId.length, referralId.externalId, referralId.unique],
      ['string', 100, true, true],
    );
    const status = schema.field('Opportunity', 'Referral_Status__c')!;
    assert.deepEqual(status.picklistValues, ['New', 'Active', 'Closed']);
    assert.equal(status.restrictedPicklist, true);
    assert.equal(schema.field('Opportunity', 'Referral_Link__c')!.type, 'url');
    assert.equal(schema.field('Opportunity', 'Audit__c')!.length, 131072);
    assert.equal(schema.field('Opportunity', 'Sync_with_Partner_Center__c')!.defaultValue, false);
  });

  it('refuses a field type it cannot enforce, naming the file', () => {
    assert.throws(
      () =>
        parseCustomFieldXml(
          '<CustomField><fullName>X__c</fullName><type>Geolocation</type></CustomField>',
          'X__c.field-meta.xml',
        ),
      /X__c.field-meta.xml: unsupported field type 'Geolocation'/,
    );
  });

  it('undoes a failed transaction and fires no events for it', () => {
    const { store } = seededStore();
    const seen: string[] = [];
    store.onChange((c) => seen.push(String(c.after.Name)));
    const before = store.all('Opportunity').length;
    assert.throws(
      () =>
        store.transaction(() => {
          store.insert(
            'Opportunity',
            { Name: 'kept?', StageName: 'Prospecting', CloseDate: '2026-01-01' },
            user,
          );
          store.insert('Opportunity', { Name: 'bad', StageName: 'Nope', CloseDate: '2026-01-01' }, user);
        }),
      RecordWriteError,
    );
    assert.equal(store.all('Opportunity').length, before);
    assert.deepEqual(seen, []);
    store.transaction(() =>
      store.insert(
        'Opportunity',
        { Name: 'committed', StageName: 'Prospecting', CloseDate: '2026-01-01' },
        user,
      ),
    );
    assert.deepEqual(seen, ['committed']);
  });
});
