import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from 'jsforce';
import { createSalesforceRestSandbox } from './rest.ts';
import type { SalesforceRestSandbox } from './rest.ts';
import { parseValidationRule } from './controls.ts';

const VERSION = '62.0';

interface SaveResult {
  success: boolean;
  errors: Array<{ statusCode: string; message: string; fields?: string[] }>;
}

describe('Salesforce sandbox validation rules', () => {
  let sandbox: SalesforceRestSandbox;
  let conn: Connection;
  let opportunityId: string;
  let otherId: string;
  const update = (values: { Id: string } & Record<string, unknown>) =>
    conn.sobject('Opportunity').update(values);

  before(async () => {
    sandbox = await createSalesforceRestSandbox();
    const { loginUrl, clientId, clientSecret } = sandbox.relayCredentials;
    conn = new Connection({ version: VERSION, oauth2: { loginUrl, clientId, clientSecret } });
    await conn.authorize({ grant_type: 'client_credentials' });
    const base = { StageName: 'Qualification', CloseDate: '2026-12-31', Amount: 1000 };
    opportunityId = ((await conn.sobject('Opportunity').create({ ...base, Name: 'Ruled' })) as { id: string })
      .id;
    otherId = ((await conn.sobject('Opportunity').create({ ...base, Name: 'Other' })) as { id: string }).id;
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.controls.clearValidationRules());

  it('refuses a write to the chosen record with FIELD_CUSTOM_VALIDATION_EXCEPTION and the rule message, until switched off', async () => {
    sandbox.controls.addValidationRule({
      name: 'Amount_Needs_Approval',
      message: 'Amounts above 1,000,000 need finance approval',
      recordIds: [opportunityId.slice(0, 15)],
      changed: ['Amount'],
      errorField: 'Amount',
    });
    // A single-record save answers 400 with the error list; jsforce throws it.
    await assert.rejects(update({ Id: opportunityId, Amount: 2_000_000 }), {
      errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
      data: {
        errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
        message: 'Amounts above 1,000,000 need finance approval',
        fields: ['Amount'],
      },
    });
    assert.equal(
      sandbox.store.get('Opportunity', opportunityId)?.Amount,
      1000,
      'nothing of the write is kept',
    );

    // Another record, and a save of the same record that leaves Amount alone, pass (ISCHANGED).
    assert.equal(((await update({ Id: otherId, Amount: 2_000_000 })) as SaveResult).success, true);
    assert.equal(
      ((await update({ Id: opportunityId, Description: 'status only' })) as SaveResult).success,
      true,
    );

    assert.equal(sandbox.controls.removeValidationRule('Amount_Needs_Approval'), true);
    assert.equal(((await update({ Id: opportunityId, Amount: 2_000_000 })) as SaveResult).success, true);
  });

  it('matches a condition on the saved record, for creates too, and is driven over the admin API', async () => {
    const rule = {
      name: 'No_Test_Deals',
      message: 'Test deals are not allowed',
      when: { Name: 'Test deal' },
    };
    const added = await fetch(`${sandbox.url}/_sandbox/validation-rules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(rule),
    });
    assert.equal(added.status, 200);
    assert.deepEqual(((await added.json()) as { rules: unknown[] }).rules, [rule]);

    // In an sObject Collections call the entry fails on its own.
    const body = { Name: 'Test deal', StageName: 'Prospecting', CloseDate: '2027-01-31' };
    const [created] = (await conn
      .sobject('Opportunity')
      .create([body], { allOrNone: false })) as SaveResult[];
    assert.equal(created.success, false);
    assert.equal(created.errors[0].statusCode, 'FIELD_CUSTOM_VALIDATION_EXCEPTION');
    assert.equal(created.errors[0].message, 'Test deals are not allowed');
    assert.equal(sandbox.store.findBy('Opportunity', 'Name', 'Test deal').length, 0);

    const bad = await fetch(`${sandbox.url}/_sandbox/validation-rules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'No_Message' }),
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /message/);

    const removed = await fetch(`${sandbox.url}/_sandbox/validation-rules/No_Test_Deals`, {
      method: 'DELETE',
    });
    assert.equal(removed.status, 204);
    const listed = (await (await fetch(`${sandbox.url}/_sandbox/validation-rules`)).json()) as {
      rules: unknown[];
    };
    assert.deepEqual(listed.rules, []);
    const [retried] = (await conn
      .sobject('Opportunity')
      .create([body], { allOrNone: false })) as SaveResult[];
    assert.equal(retried.success, true);
  });

  it('names the property at fault in a rule it cannot use', () => {
    assert.throws(
      () => parseValidationRule({ name: 'x', message: 'y', recordIds: 'one' }),
      /recordIds must be an array/,
    );
    assert.throws(() => parseValidationRule({ name: '', message: 'y' }), /name must be a non-empty string/);
  });
});
