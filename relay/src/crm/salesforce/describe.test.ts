import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Connection } from 'jsforce';
import { createSalesforceRestSandbox } from '../../../sandbox/salesforce/rest.ts';
import type { SalesforceRestSandbox } from '../../../sandbox/salesforce/rest.ts';
import { fitSalesforceValue, unfilledRequiredFields, withTargets } from '../../sync/index.ts';
import { defaultMapping } from '../../sync/testFixtures.ts';
import { describeOpportunityFields, fieldInfoFromDescribe } from './describe.ts';

describe("the org's describe as field rules", () => {
  let sandbox: SalesforceRestSandbox;
  let conn: Connection;
  before(async () => {
    sandbox = await createSalesforceRestSandbox();
    const { loginUrl, clientId, clientSecret } = sandbox.relayCredentials;
    conn = new Connection({ version: '62.0', oauth2: { loginUrl, clientId, clientSecret } });
    await conn.authorize({ grant_type: 'client_credentials' });
  });
  after(() => sandbox.close());

  it('reads lengths, required fields and restricted picklists from the describe call', async () => {
    const fields = new Map((await describeOpportunityFields(conn)).map((field) => [field.name, field]));
    assert.deepEqual(fields.get('Name'), { name: 'Name', type: 'Text', length: 120, required: true });
    assert.equal(fields.get('CloseDate')?.required, true);
    assert.equal(fields.get('CurrencyIsoCode')?.restricted, true);
    assert.ok(fields.get('CurrencyIsoCode')?.picklistValues?.includes('EUR'));
    assert.equal(fields.get('IsWon')?.updateable, false);
    const described = withTargets(defaultMapping, { opportunityFields: fields });
    // The org knows CurrencyIsoCode's list, which force-app does not: a lower-case code is now mapped.
    assert.equal(
      fitSalesforceValue('CurrencyIsoCode', 'usd', described.targets.CurrencyIsoCode).value,
      'USD',
    );
    assert.deepEqual(unfilledRequiredFields(defaultMapping, { opportunityFields: fields }), []);
  });

  it('names a field an admin made required that the mapping cannot fill', () => {
    const required = fieldInfoFromDescribe({
      name: 'Region__c',
      type: 'picklist',
      length: 255,
      nillable: false,
      createable: true,
      updateable: true,
      defaultedOnCreate: false,
      picklistValues: [{ value: 'EMEA' }, { value: 'Old', active: false }],
      restrictedPicklist: true,
    });
    assert.deepEqual(required, {
      name: 'Region__c',
      type: 'Picklist',
      length: 255,
      picklistValues: ['EMEA'],
      restricted: true,
      required: true,
    });
    assert.deepEqual(
      unfilledRequiredFields(defaultMapping, { opportunityFields: new Map([['Region__c', required]]) }),
      ['Region__c'],
    );
    assert.deepEqual(
      fieldInfoFromDescribe({
        name: 'Amount',
        type: 'currency',
        precision: 18,
        scale: 2,
        nillable: true,
        createable: true,
        updateable: true,
      }),
      { name: 'Amount', type: 'Currency', precision: 18, scale: 2 },
    );
  });
});
