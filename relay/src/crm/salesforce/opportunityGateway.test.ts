import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSalesforceRestSandbox } from '../../../sandbox/salesforce/rest.ts';
import type { SalesforceRestSandbox } from '../../../sandbox/salesforce/rest.ts';
import { silentLogger } from '../../logger.ts';
import { RelayError } from '../../errors.ts';
import { createSalesforceConnection } from './connection.ts';
import type { SalesforceConnection } from './connection.ts';
import { createOpportunityGateway } from './opportunityGateway.ts';
import type { OpportunityGateway, OpportunityWrite } from './opportunityGateway.ts';

let sequence = 0;
function referral(overrides: Record<string, unknown> = {}): OpportunityWrite {
  sequence += 1;
  return {
    Referral_Identifier__c: `ref-${sequence}-${Date.now()}`,
    Name: `Referral ${sequence}`,
    StageName: 'Qualification',
    CloseDate: '2026-12-31',
    Amount: 1000,
    ...overrides,
  };
}

async function settle<T>(promise: Promise<T>): Promise<T | RelayError> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof RelayError) return error;
    throw error;
  }
}

describe('createOpportunityGateway', () => {
  let sandbox: SalesforceRestSandbox;
  let sf: SalesforceConnection;
  let gateway: OpportunityGateway;

  before(async () => {
    sandbox = await createSalesforceRestSandbox();
    sf = await createSalesforceConnection({ ...sandbox.relayCredentials, logger: silentLogger() });
  });
  after(async () => {
    await gateway?.flush();
    await sandbox.close();
  });
  beforeEach(() => {
    sandbox.clearFaults();
    sandbox.resetCounters();
    gateway = createOpportunityGateway({ connection: sf.connection, logger: silentLogger() });
  });

  describe('write', () => {
    it('sends 50 concurrent writes as one sObject Collections call', async () => {
      const records = Array.from({ length: 50 }, () => referral());
      const results = await Promise.all(records.map((r) => gateway.write(r)));
      assert.equal(sandbox.counters().byEndpoint['collections.upsert'], 1);
      assert.ok(results.every((r) => r.created));
      for (const record of records) {
        assert.equal(
          sandbox.store.findBy('Opportunity', 'Referral_Identifier__c', record.Referral_Identifier__c).length,
          1,
        );
      }
      assert.deepEqual(gateway.stats().calls, { 'collections.upsert': 1 });
    });

    it('splits 250 concurrent writes into two calls of at most 200 records', async () => {
      const results = await Promise.all(Array.from({ length: 250 }, () => gateway.write(referral())));
      assert.equal(results.length, 250);
      assert.equal(sandbox.counters().byEndpoint['collections.upsert'], 2);
    });

    it('creates one Opportunity when the same referral is upserted twice', async () => {
      const record = referral();
      const first = await gateway.write(record);
      const second = await gateway.write({ ...record, Amount: 2500 });
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.equal(second.id, first.id);
      const matches = sandbox.store.findBy(
        'Opportunity',
        'Referral_Identifier__c',
        record.Referral_Identifier__c,
      );
      assert.equal(matches.length, 1);
      assert.equal(matches[0].Amount, 2500);
    });

    it('merges two writes to one record inside a window, later values winning', async () => {
      const record = referral();
      const [a, b] = await Promise.all([
        gateway.write({ ...record, Amount: 1, NextStep: 'first' }),
        gateway.write({ Referral_Identifier__c: record.Referral_Identifier__c!.toUpperCase(), Amount: 2 }),
      ]);
      assert.deepEqual(a, b);
      assert.equal(sandbox.counters().byEndpoint['collections.upsert'], 1);
      const saved = sandbox.store.get('Opportunity', a.id)!;
      assert.equal(saved.Amount, 2);
      assert.equal(saved.NextStep, 'first');
    });

    it('updates by Id through PATCH /composite/sobjects', async () => {
      const { id } = await gateway.write(referral());
      const updated = await gateway.write({ Id: id, Description: 'updated by id' });
      assert.deepEqual(updated, { id, created: false });
      assert.equal(sandbox.counters().byEndpoint['collections.update'], 1);
      assert.equal(sandbox.store.get('Opportunity', id)?.Description, 'updated by id');
    });

    it('isolates a bad record: it fails alone, not retryable, naming the field', async () => {
      const [good, bad] = await Promise.all([
        gateway.write(referral()),
        settle(gateway.write(referral({ Referral_Status__c: 'Sideways' }))),
      ]);
      assert.ok(!(good instanceof RelayError) && good.created);
      assert.ok(bad instanceof RelayError);
      assert.equal(bad.code, 'SF_RECORD_ERROR');
      assert.equal(bad.retryable, false);
      assert.match(bad.message, /INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST \(Referral_Status__c\)/);
      assert.equal(sandbox.counters().byEndpoint['collections.upsert'], 1);
    });

    it('rejects text over the XML length with SF_RECORD_ERROR', async () => {
      const error = await settle(gateway.write(referral({ Microsoft_CRM_Identifier__c: 'm'.repeat(101) })));
      assert.ok(error instanceof RelayError);
      assert.equal(error.code, 'SF_RECORD_ERROR');
      assert.match(error.message, /STRING_TOO_LONG \(Microsoft_CRM_Identifier__c\)/);
    });

    it('blames an unknown field on the record that carries it and lets its batch-mates retry', async () => {
      const [bad, innocent] = await Promise.all([
        settle(gateway.write(referral({ Bogus__c: 'x' }))),
        settle(gateway.write(referral())),
      ]);
      assert.ok(bad instanceof RelayError && innocent instanceof RelayError);
      assert.equal(bad.code, 'SF_INVALID_FIELD');
      assert.equal(bad.retryable, false);
      assert.match(bad.message, /Bogus__c/);
      assert.equal(innocent.code, 'SF_ERROR');
      assert.equal(innocent.retryable, true);
    });

    it('surfaces a row lock as SF_LOCKED, retryable', async () => {
      sandbox.setFaults({ lockNextWrites: 1 });
      const error = await settle(gateway.write(referral()));
      assert.ok(error instanceof RelayError);
      assert.equal(error.code, 'SF_LOCKED');
      assert.equal(error.retryable, true);
    });

    it('surfaces an exhausted API allocation as SF_LIMIT_EXCEEDED, retryable, for every record in the call', async () => {
      sandbox.setFaults({ limitNextCalls: 1 });
      const errors = await Promise.all([
        settle(gateway.write(referral())),
        settle(gateway.write(referral())),
      ]);
      for (const error of errors) {
        assert.ok(error instanceof RelayError);
        assert.equal(error.code, 'SF_LIMIT_EXCEEDED');
        assert.equal(error.retryable, true);
      }
    });

    it('refreshes an expired session and completes the write', async () => {
      sandbox.expireSessions();
      const refreshes = sf.refreshes();
      const result = await gateway.write(referral());
      assert.equal(result.created, true);
      assert.equal(sf.refreshes(), refreshes + 1);
    });
  });

  describe('reads', () => {
    it('answers concurrent readers with one SOQL IN query and omits keys that match nothing', async () => {
      const a = referral();
      const b = referral();
      await Promise.all([gateway.write(a), gateway.write(b)]);
      sandbox.resetCounters();
      const [first, second] = await Promise.all([
        gateway.readDeals('referralId', [a.Referral_Identifier__c!, 'missing-ref'], ['Name', 'Amount']),
        gateway.readDeals('referralId', [b.Referral_Identifier__c!], ['Amount', 'Name']),
      ]);
      assert.equal(sandbox.counters().byEndpoint.query, 1);
      assert.deepEqual([...first.keys()], [a.Referral_Identifier__c]);
      assert.equal(first.get(a.Referral_Identifier__c!)?.Name, a.Name);
      assert.equal(second.get(b.Referral_Identifier__c!)?.Amount, 1000);
      assert.equal(typeof second.get(b.Referral_Identifier__c!)?.Id, 'string');
      assert.equal(second.get(b.Referral_Identifier__c!)?.attributes, undefined);
    });

    it('reads by Id with parent fields and chunks more than 200 keys into several queries', async () => {
      const account = await gateway.findOrCreateAccount({ name: 'Chunk Co', postalCode: '10001' });
      const written = await Promise.all(
        Array.from({ length: 210 }, () => gateway.write(referral({ AccountId: account }))),
      );
      sandbox.resetCounters();
      const ids = written.map((w) => w.id);
      const records = await gateway.readDeals('id', ids, ['Account.Name']);
      assert.equal(records.size, 210);
      assert.equal(sandbox.counters().byEndpoint.query, 2);
      assert.deepEqual(records.get(ids[0])?.Account, { Name: 'Chunk Co' });
    });

    it('reports an unknown field as SF_INVALID_FIELD', async () => {
      const error = await settle(gateway.readDeals('id', ['006000000000000AAA'], ['Nope__c']));
      assert.ok(error instanceof RelayError);
      assert.equal(error.code, 'SF_INVALID_FIELD');
      assert.equal(error.retryable, false);
    });

    it('reads primary contacts for many opportunities in one query', async () => {
      const [one, two] = await Promise.all([gateway.write(referral()), gateway.write(referral())]);
      const contact = sandbox.store.insert(
        'Contact',
        { FirstName: 'Grace', LastName: 'Hopper', Email: 'grace@example.com', Phone: '555-0100' },
        sandbox.integrationUser.id,
      );
      sandbox.store.insert(
        'OpportunityContactRole',
        { OpportunityId: one.id, ContactId: contact.Id, IsPrimary: true },
        sandbox.integrationUser.id,
      );
      sandbox.store.insert(
        'OpportunityContactRole',
        { OpportunityId: two.id, ContactId: contact.Id, IsPrimary: false },
        sandbox.integrationUser.id,
      );
      sandbox.resetCounters();
      const [a, b] = await Promise.all([
        gateway.readPrimaryContacts([one.id]),
        gateway.readPrimaryContacts([two.id]),
      ]);
      assert.equal(sandbox.counters().byEndpoint.query, 1);
      assert.deepEqual(a.get(one.id), {
        firstName: 'Grace',
        lastName: 'Hopper',
        email: 'grace@example.com',
        phone: '555-0100',
      });
      assert.equal(b.size, 0);
    });
  });

  describe('findOrCreateAccount', () => {
    it('creates an account once and finds it by name and postal code afterwards', async () => {
      const input = { name: "O'Brien & Sons", postalCode: '98052', city: 'Redmond', country: 'US' };
      const [a, b] = await Promise.all([
        gateway.findOrCreateAccount(input),
        gateway.findOrCreateAccount(input),
      ]);
      assert.equal(a, b);
      const again = await gateway.findOrCreateAccount(input);
      assert.equal(again, a);
      assert.equal(sandbox.store.findBy('Account', 'Name', "O'Brien & Sons").length, 1);
      assert.equal(sandbox.store.get('Account', a)?.BillingCity, 'Redmond');
      const elsewhere = await gateway.findOrCreateAccount({ ...input, postalCode: '10001' });
      assert.notEqual(elsewhere, a);
    });
  });
});
