import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from 'jsforce';
import { createSalesforceRestSandbox } from './rest.ts';
import type { SalesforceRestSandbox } from './rest.ts';
import type { RecordChange } from './recordStore.ts';
import { DEFAULT_SELLER_APP, DEFAULT_SELLER_USER } from './users.ts';

const VERSION = '62.0';

async function token(sandbox: SalesforceRestSandbox, form: Record<string, string>): Promise<Response> {
  return fetch(`${sandbox.url}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

async function integrationToken(sandbox: SalesforceRestSandbox): Promise<string> {
  const { clientId, clientSecret } = sandbox.relayCredentials;
  const res = await token(sandbox, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function api(
  sandbox: SalesforceRestSandbox,
  accessToken: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${sandbox.url}/services/data/v${VERSION}${path}`, {
    method,
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function integrationConnection(sandbox: SalesforceRestSandbox): Promise<Connection> {
  const { loginUrl, clientId, clientSecret } = sandbox.relayCredentials;
  const conn = new Connection({ version: VERSION, oauth2: { loginUrl, clientId, clientSecret } });
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}

function opportunity(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Name: 'Contoso migration',
    StageName: 'Qualification',
    CloseDate: '2026-12-31',
    Amount: 1000,
    ...overrides,
  };
}

describe('Salesforce REST sandbox', () => {
  let sandbox: SalesforceRestSandbox;
  let accessToken: string;

  before(async () => {
    sandbox = await createSalesforceRestSandbox();
  });
  after(async () => {
    await sandbox.close();
  });
  beforeEach(async () => {
    sandbox.clearFaults();
    accessToken = await integrationToken(sandbox);
  });

  describe('OAuth', () => {
    it('issues a client-credentials token for the connected app and names its user in userinfo', async () => {
      const { clientId, clientSecret } = sandbox.relayCredentials;
      const res = await token(sandbox, {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as Record<string, string>;
      assert.equal(body.instance_url, sandbox.url);
      assert.equal(body.token_type, 'Bearer');
      assert.match(body.issued_at, /^\d+$/);
      assert.ok(body.id.endsWith(`/${sandbox.integrationUser.id}`));
      const info = await fetch(`${sandbox.url}/services/oauth2/userinfo`, {
        headers: { authorization: `Bearer ${body.access_token}` },
      });
      const user = (await info.json()) as Record<string, string>;
      assert.equal(user.user_id, sandbox.integrationUser.id);
      assert.equal(user.preferred_username, sandbox.integrationUser.username);
    });

    it('rejects a wrong client secret with invalid_client', async () => {
      const res = await token(sandbox, {
        grant_type: 'client_credentials',
        client_id: sandbox.relayCredentials.clientId,
        client_secret: 'wrong',
      });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
    });

    it('signs the seller in with the password grant and refuses a wrong password', async () => {
      const form = {
        grant_type: 'password',
        client_id: DEFAULT_SELLER_APP.clientId,
        client_secret: DEFAULT_SELLER_APP.clientSecret,
        username: DEFAULT_SELLER_USER.username,
      };
      const ok = await token(sandbox, { ...form, password: DEFAULT_SELLER_USER.password! });
      assert.equal(ok.status, 200);
      assert.ok(((await ok.json()) as { id: string }).id.endsWith(DEFAULT_SELLER_USER.id));
      const bad = await token(sandbox, { ...form, password: 'nope' });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: string }).error, 'invalid_grant');
    });

    it('answers 401 INVALID_SESSION_ID once sessions expire, and without a token', async () => {
      sandbox.expireSessions();
      const expired = await api(sandbox, accessToken, 'GET', '/sobjects/Opportunity/describe');
      assert.equal(expired.status, 401);
      assert.deepEqual(await expired.json(), [
        { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
      ]);
      const anonymous = await fetch(
        `${sandbox.url}/services/data/v${VERSION}/query?q=SELECT+Id+FROM+Account`,
      );
      assert.equal(anonymous.status, 401);
    });

    it('expires tokens after the configured lifetime', async () => {
      const shortLived = await createSalesforceRestSandbox({ tokenTtlMs: 1 });
      try {
        const t = await integrationToken(shortLived);
        const res = await api(shortLived, t, 'GET', '/sobjects');
        await res.arrayBuffer();
        // 1 ms is over by the time the request arrives; assert on the condition, not on timing.
        assert.equal(res.status, 401);
      } finally {
        await shortLived.close();
      }
    });
  });

  describe('limits and counters', () => {
    it('puts Sforce-Limit-Info on every API response and counts calls per endpoint', async () => {
      sandbox.resetCounters();
      const conn = await integrationConnection(sandbox);
      await conn.query('SELECT Id FROM Account');
      await conn.sobject('Opportunity').describe();
      assert.deepEqual(conn.limitInfo.apiUsage, { used: 2, limit: 100_000 });
      const counters = sandbox.counters();
      assert.equal(counters.byEndpoint.query, 1);
      assert.equal(counters.byEndpoint.describe, 1);
      assert.equal(counters.byEndpoint['oauth.token'], 1);
      assert.equal(counters.apiUsage.used, 2);
    });

    it('serves counters and resets them over the admin HTTP route', async () => {
      await api(sandbox, accessToken, 'GET', '/sobjects');
      const before = (await (await fetch(`${sandbox.url}/_sandbox/counters`)).json()) as {
        byEndpoint: Record<string, number>;
      };
      assert.ok(before.byEndpoint.describeGlobal >= 1);
      assert.equal((await fetch(`${sandbox.url}/_sandbox/counters/reset`, { method: 'POST' })).status, 204);
      assert.deepEqual(sandbox.counters(), { apiUsage: { used: 0, limit: 100_000 }, byEndpoint: {} });
    });

    it('answers 403 REQUEST_LIMIT_EXCEEDED when the daily allocation is spent', async () => {
      const tiny = await createSalesforceRestSandbox({ apiLimit: 1 });
      try {
        const conn = await integrationConnection(tiny);
        await conn.query('SELECT Id FROM Account');
        await assert.rejects(async () => conn.query('SELECT Id FROM Account'), {
          errorCode: 'REQUEST_LIMIT_EXCEEDED',
        });
      } finally {
        await tiny.close();
      }
    });
  });

  describe('SOQL', () => {
    it('filters with IN, AND, OR and parentheses and returns parent fields as nested records', async () => {
      const conn = await integrationConnection(sandbox);
      const account = await conn.sobject('Account').create({ Name: 'Fabrikam', BillingPostalCode: '98052' });
      const ids: string[] = [];
      for (const [i, stage] of ['Prospecting', 'Closed Won', 'Closed Lost'].entries()) {
        const saved = await conn.sobject('Opportunity').create(
          opportunity({
            Name: `SOQL ${i}`,
            StageName: stage,
            AccountId: account.id,
            Referral_Identifier__c: `soql-${i}`,
          }),
        );
        ids.push(saved.id!);
      }
      const result = await conn.query<Record<string, unknown>>(
        `SELECT Id, Name, IsWon, Account.Name, Account.BillingPostalCode FROM Opportunity WHERE Referral_Identifier__c IN ('SOQL-0', 'soql-1', 'soql-2') AND (IsWon = true OR StageName = 'prospecting') ORDER BY Name DESC LIMIT 5`,
      );
      assert.deepEqual(
        result.records.map((r) => r.Name),
        ['SOQL 1', 'SOQL 0'],
      );
      const won = result.records[0];
      assert.equal(won.IsWon, true);
      assert.deepEqual((won.Account as Record<string, unknown>).Name, 'Fabrikam');
      assert.equal(((won.Account as Record<string, unknown>).attributes as { type: string }).type, 'Account');
      const withoutAccount = await conn.sobject('Opportunity').create(opportunity({ Name: 'Orphan' }));
      const orphan = await conn.query<Record<string, unknown>>(
        `SELECT Account.Name FROM Opportunity WHERE Id = '${withoutAccount.id!.slice(0, 15)}'`,
      );
      assert.equal(orphan.totalSize, 1);
      assert.equal(orphan.records[0].Account, null);
    });

    it('resolves OpportunityContactRole to the primary contact fields', async () => {
      const conn = await integrationConnection(sandbox);
      const opp = await conn.sobject('Opportunity').create(opportunity({ Name: 'With contact' }));
      const contact = await conn
        .sobject('Contact')
        .create({ FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com' });
      await conn
        .sobject('OpportunityContactRole')
        .create({ OpportunityId: opp.id, ContactId: contact.id, IsPrimary: true, Role: 'Decision Maker' });
      const result = await conn.query<Record<string, unknown>>(
        `SELECT OpportunityId, Contact.Email, Contact.LastName FROM OpportunityContactRole WHERE IsPrimary = true AND OpportunityId IN ('${opp.id}')`,
      );
      assert.equal(result.totalSize, 1);
      assert.deepEqual(result.records[0].Contact, {
        attributes: { type: 'Contact', url: `/services/data/v${VERSION}/sobjects/Contact/${contact.id}` },
        Email: 'ada@example.com',
        LastName: 'Lovelace',
      });
    });

    it('rejects an unknown field with INVALID_FIELD in Salesforce message shape', async () => {
      const res = await api(
        sandbox,
        accessToken,
        'GET',
        `/query?q=${encodeURIComponent('SELECT Id, Nope__c FROM Opportunity')}`,
      );
      assert.equal(res.status, 400);
      const [error] = (await res.json()) as Array<{ errorCode: string; message: string }>;
      assert.equal(error.errorCode, 'INVALID_FIELD');
      assert.match(
        error.message,
        /ERROR at Row:1:Column:12\nNo such column 'Nope__c' on entity 'Opportunity'/,
      );
    });

    it('rejects a syntax error with MALFORMED_QUERY', async () => {
      const res = await api(
        sandbox,
        accessToken,
        'GET',
        `/query?q=${encodeURIComponent("SELECT Id FROM Opportunity WHERE Name = 'x' AND")}`,
      );
      assert.equal(res.status, 400);
      const [error] = (await res.json()) as Array<{ errorCode: string }>;
      assert.equal(error.errorCode, 'MALFORMED_QUERY');
    });
  });

  describe('field enforcement from force-app XML', () => {
    async function createError(
      record: Record<string, unknown>,
    ): Promise<{ status: number; body: Array<Record<string, unknown>> }> {
      const res = await api(sandbox, accessToken, 'POST', '/sobjects/Opportunity', record);
      return { status: res.status, body: (await res.json()) as Array<Record<string, unknown>> };
    }

    it('rejects text longer than the field length with STRING_TOO_LONG', async () => {
      const { status, body } = await createError(opportunity({ Referral_Identifier__c: 'x'.repeat(101) }));
      assert.equal(status, 400);
      assert.equal(body[0].errorCode, 'STRING_TOO_LONG');
      assert.deepEqual(body[0].fields, ['Referral_Identifier__c']);
      assert.match(String(body[0].message), /max length=100/);
    });

    it('rejects a value outside a restricted picklist', async () => {
      const { body } = await createError(opportunity({ Referral_Status__c: 'Maybe' }));
      assert.equal(body[0].errorCode, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
      assert.deepEqual(body[0].fields, ['Referral_Status__c']);
    });

    it('rejects a string in a Checkbox, a Currency and a Date', async () => {
      const { body } = await createError(
        opportunity({ Sync_with_Partner_Center__c: 'yes', Amount: '10', CloseDate: 'soon' }),
      );
      assert.deepEqual(body.map((e) => `${String(e.errorCode)} ${(e.fields as string[])[0]}`).sort(), [
        'INVALID_TYPE_ON_FIELD_IN_RECORD Amount',
        'INVALID_TYPE_ON_FIELD_IN_RECORD CloseDate',
        'INVALID_TYPE_ON_FIELD_IN_RECORD Sync_with_Partner_Center__c',
      ]);
    });

    it('rejects an unknown field with INVALID_FIELD', async () => {
      const { status, body } = await createError(opportunity({ Not_A_Field__c: 1 }));
      assert.equal(status, 400);
      assert.deepEqual(body, [
        {
          message: "No such column 'Not_A_Field__c' on sobject of type Opportunity",
          errorCode: 'INVALID_FIELD',
        },
      ]);
    });

    it('rejects a duplicate of the unique external id, case-insensitively', async () => {
      assert.equal((await createError(opportunity({ Referral_Identifier__c: 'dup-ref' }))).status, 201);
      const { body } = await createError(opportunity({ Referral_Identifier__c: 'DUP-REF' }));
      assert.equal(body[0].errorCode, 'DUPLICATE_VALUE');
    });

    it('derives IsClosed, IsWon and Probability from the stage and refuses writes to them', async () => {
      const conn = await integrationConnection(sandbox);
      const saved = await conn.sobject('Opportunity').create(opportunity({ StageName: 'Closed Won' }));
      const record = await conn.sobject('Opportunity').retrieve(saved.id!);
      assert.equal(record.IsClosed, true);
      assert.equal(record.IsWon, true);
      assert.equal(record.Probability, 100);
      assert.equal(record.LastModifiedById, sandbox.integrationUser.id);
      const { body } = await createError(opportunity({ IsWon: true }));
      assert.equal(body[0].errorCode, 'INVALID_FIELD_FOR_INSERT_UPDATE');
    });
  });

  describe('sObject Collections and upsert', () => {
    it('reports per-record errors in a 200 response when allOrNone is false', async () => {
      const res = await api(sandbox, accessToken, 'POST', '/composite/sobjects', {
        allOrNone: false,
        records: [
          { attributes: { type: 'Opportunity' }, ...opportunity({ Name: 'good' }) },
          { attributes: { type: 'Opportunity' }, ...opportunity({ Referral_Substatus__c: 'Bogus' }) },
        ],
      });
      assert.equal(res.status, 200);
      const results = (await res.json()) as Array<{
        id: string | null;
        success: boolean;
        errors: Array<{ statusCode: string; fields: string[] }>;
      }>;
      assert.equal(results[0].success, true);
      assert.ok(sandbox.store.get('Opportunity', results[0].id!));
      assert.equal(results[1].success, false);
      assert.equal(results[1].errors[0].statusCode, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
      assert.deepEqual(results[1].errors[0].fields, ['Referral_Substatus__c']);
    });

    it('rolls every record back when allOrNone is true and one fails', async () => {
      const before = sandbox.store.all('Opportunity').length;
      const res = await api(sandbox, accessToken, 'POST', '/composite/sobjects', {
        allOrNone: true,
        records: [
          { attributes: { type: 'Opportunity' }, ...opportunity({ Name: 'rolled back' }) },
          { attributes: { type: 'Opportunity' }, ...opportunity({ CloseDate: null }) },
        ],
      });
      const results = (await res.json()) as Array<{
        success: boolean;
        errors: Array<{ statusCode: string }>;
      }>;
      assert.equal(results[0].errors[0].statusCode, 'ALL_OR_NONE_OPERATION_ROLLED_BACK');
      assert.equal(results[1].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
      assert.equal(sandbox.store.all('Opportunity').length, before);
    });

    it('refuses more than 200 records with 400 EXCEEDED_ID_LIMIT', async () => {
      const records = Array.from({ length: 201 }, () => ({
        attributes: { type: 'Opportunity' },
        ...opportunity(),
      }));
      const res = await api(sandbox, accessToken, 'POST', '/composite/sobjects', {
        allOrNone: false,
        records,
      });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as Array<{ errorCode: string }>)[0].errorCode, 'EXCEEDED_ID_LIMIT');
    });

    it('upserts a single record by external id: 201 when created, 200 with created false when updated (API 46.0+)', async () => {
      const created = await api(
        sandbox,
        accessToken,
        'PATCH',
        '/sobjects/Opportunity/Referral_Identifier__c/upsert-one',
        opportunity(),
      );
      assert.equal(created.status, 201);
      const body = (await created.json()) as { id: string; created: boolean };
      assert.equal(body.created, true);
      const updated = await api(
        sandbox,
        accessToken,
        'PATCH',
        '/sobjects/Opportunity/Referral_Identifier__c/upsert-one',
        { Amount: 5 },
      );
      assert.equal(updated.status, 200);
      assert.deepEqual(await updated.json(), { id: body.id, success: true, errors: [], created: false });
      assert.equal(sandbox.store.get('Opportunity', body.id)?.Amount, 5);
      assert.equal(sandbox.store.findBy('Opportunity', 'Referral_Identifier__c', 'upsert-one').length, 1);
    });

    it('answers an upsert as API 45.0 did: 201 without created, then a bare 204', async () => {
      const upsert = (values: Record<string, unknown>) =>
        fetch(`${sandbox.url}/services/data/v45.0/sobjects/Opportunity/Referral_Identifier__c/upsert-old`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(values),
        });
      const created = await upsert(opportunity());
      assert.equal(created.status, 201);
      assert.equal('created' in ((await created.json()) as object), false);
      const updated = await upsert({ Amount: 6 });
      assert.equal(updated.status, 204);
      assert.equal(await updated.text(), '');
    });

    it('upserts a collection with created flags through jsforce and rejects duplicate keys in one request', async () => {
      const conn = await integrationConnection(sandbox);
      await conn.sobject('Opportunity').create(opportunity({ Referral_Identifier__c: 'coll-existing' }));
      const results = (await conn.sobject('Opportunity').upsert(
        [
          { Referral_Identifier__c: 'coll-existing', Amount: 7 },
          { Referral_Identifier__c: 'coll-new', ...opportunity() },
          { Referral_Identifier__c: 'coll-twice', ...opportunity() },
          { Referral_Identifier__c: 'COLL-TWICE', ...opportunity() },
        ],
        'Referral_Identifier__c',
        { allOrNone: false },
      )) as unknown as Array<{ success: boolean; created?: boolean; errors: Array<{ statusCode: string }> }>;
      assert.deepEqual(
        results.map((r) => [r.success, r.created]),
        [
          [true, false],
          [true, true],
          [false, undefined],
          [false, undefined],
        ],
      );
      assert.equal(results[2].errors[0].statusCode, 'DUPLICATE_EXTERNAL_ID');
      assert.equal(sandbox.counters().byEndpoint['collections.upsert'] >= 1, true);
    });

    it('updates records by id through PATCH /composite/sobjects', async () => {
      const conn = await integrationConnection(sandbox);
      const a = await conn.sobject('Opportunity').create(opportunity());
      const results = (await conn.sobject('Opportunity').update(
        [
          { Id: a.id!, NextStep: 'call' },
          { Id: '006000000000000AAA', NextStep: 'x' },
        ],
        {
          allOrNone: false,
        },
      )) as unknown as Array<{ success: boolean; errors: Array<{ statusCode: string }> }>;
      assert.equal(results[0].success, true);
      assert.equal(results[1].errors[0].statusCode, 'ENTITY_IS_DELETED');
      assert.equal(sandbox.store.get('Opportunity', a.id!)?.NextStep, 'call');
    });
  });

  describe('faults', () => {
    it('fails the next writes with UNABLE_TO_LOCK_ROW: per record in collections, 400 for single records', async () => {
      const res0 = await fetch(`${sandbox.url}/_sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ lockNextWrites: 2 }),
      });
      assert.equal(res0.status, 200);
      const res = await api(sandbox, accessToken, 'POST', '/composite/sobjects', {
        allOrNone: false,
        records: [opportunity(), opportunity(), opportunity()].map((r) => ({
          attributes: { type: 'Opportunity' },
          ...r,
        })),
      });
      assert.equal(res.status, 200);
      const results = (await res.json()) as Array<{
        success: boolean;
        errors: Array<{ statusCode: string }>;
      }>;
      assert.deepEqual(
        results.map((r) => r.errors[0]?.statusCode ?? 'ok'),
        ['UNABLE_TO_LOCK_ROW', 'UNABLE_TO_LOCK_ROW', 'ok'],
      );
      sandbox.setFaults({ lockNextWrites: 1 });
      const single = await api(sandbox, accessToken, 'POST', '/sobjects/Opportunity', opportunity());
      assert.equal(single.status, 400);
      assert.equal(
        ((await single.json()) as Array<{ errorCode: string }>)[0].errorCode,
        'UNABLE_TO_LOCK_ROW',
      );
    });

    it('fails the next calls with 403 REQUEST_LIMIT_EXCEEDED, then recovers', async () => {
      sandbox.setFaults({ limitNextCalls: 1 });
      const limited = await api(sandbox, accessToken, 'GET', '/sobjects');
      assert.equal(limited.status, 403);
      assert.ok(limited.headers.get('sforce-limit-info')?.startsWith('api-usage='));
      assert.equal(
        ((await limited.json()) as Array<{ errorCode: string }>)[0].errorCode,
        'REQUEST_LIMIT_EXCEEDED',
      );
      assert.equal((await api(sandbox, accessToken, 'GET', '/sobjects')).status, 200);
    });

    it('adds the configured latency to each call', async () => {
      sandbox.setFaults({ latencyMs: 60 });
      const started = performance.now();
      await (await api(sandbox, accessToken, 'GET', '/sobjects')).arrayBuffer();
      assert.ok(performance.now() - started >= 55, 'the call took at least the injected latency');
    });
  });

  describe('change events', () => {
    it('emits one event per committed record, in order, naming the user who wrote it', async () => {
      const changes: RecordChange[] = [];
      const stop = sandbox.store.onChange((change) => changes.push(change));
      try {
        const conn = await integrationConnection(sandbox);
        const created = await conn.sobject('Opportunity').create(opportunity({ Name: 'event' }));
        const sellerToken = (await (
          await token(sandbox, {
            grant_type: 'password',
            client_id: DEFAULT_SELLER_APP.clientId,
            client_secret: DEFAULT_SELLER_APP.clientSecret,
            username: DEFAULT_SELLER_USER.username,
            password: DEFAULT_SELLER_USER.password!,
          })
        ).json()) as { access_token: string };
        const patched = await api(
          sandbox,
          sellerToken.access_token,
          'PATCH',
          `/sobjects/Opportunity/${created.id}`,
          { Amount: 2000 },
        );
        assert.equal(patched.status, 204);
        // A rejected write emits nothing.
        await api(sandbox, sellerToken.access_token, 'PATCH', `/sobjects/Opportunity/${created.id}`, {
          StageName: 'Nope',
        });
        assert.deepEqual(
          changes.map((c) => [c.sobject, c.operation, c.userId, c.before?.Amount ?? null, c.after.Amount]),
          [
            ['Opportunity', 'insert', sandbox.integrationUser.id, null, 1000],
            ['Opportunity', 'update', DEFAULT_SELLER_USER.id, 1000, 2000],
          ],
        );
      } finally {
        stop();
      }
    });
  });

  it('serves records to other processes over the admin route', async () => {
    const conn = await integrationConnection(sandbox);
    const saved = await conn
      .sobject('Opportunity')
      .create(opportunity({ Referral_Identifier__c: 'admin-read' }));
    const one = (await (
      await fetch(`${sandbox.url}/_sandbox/records/Opportunity/${saved.id}`)
    ).json()) as Record<string, unknown>;
    assert.equal(one.Referral_Identifier__c, 'admin-read');
    const list = (await (
      await fetch(`${sandbox.url}/_sandbox/records/Opportunity?Referral_Identifier__c=admin-read`)
    ).json()) as { records: unknown[] };
    assert.equal(list.records.length, 1);
  });
});
