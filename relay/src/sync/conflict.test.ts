import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalFromOpportunity } from './canonical.ts';
import {
  describeDecision,
  partnerCenterHeldPaths,
  resolveConflict,
  salesforceHeldFields,
} from './conflict.ts';
import { defaultMapping, sampleOpportunity, sampleReferral } from './testFixtures.ts';

const lastSynced = canonicalFromOpportunity(sampleOpportunity(), defaultMapping);

function inputOf(
  opportunity: Record<string, unknown>,
  referral: Parameters<typeof sampleReferral>[0],
  last = lastSynced,
) {
  return {
    lastSynced: last,
    salesforce: { opportunity: sampleOpportunity(opportunity) },
    partnerCenter: sampleReferral(referral),
    mapping: defaultMapping,
  };
}

const resolve = (...args: Parameters<typeof inputOf>) => resolveConflict(inputOf(...args));

describe('resolveConflict', () => {
  it('finds nothing to resolve when both sides agree', () => {
    assert.deepEqual(resolve({}, {}), { toPartnerCenter: {}, toSalesforce: {}, decisions: [] });
  });

  it('lets the only side that changed win, whoever owns the field', () => {
    const sfOnly = resolve({ Amount: 2000 }, {});
    assert.deepEqual(sfOnly.toPartnerCenter, { 'details.dealValue': 2000 });
    assert.deepEqual(sfOnly.toSalesforce, {});
    assert.deepEqual(sfOnly.decisions, [
      {
        field: 'dealValue',
        winner: 'salesforce',
        reason: 'changed only in Salesforce since the last sync',
        replaced: 30000,
        bothChanged: false,
      },
    ]);

    const pcOnly = resolve({}, { details: { ...(sampleReferral().details as object), dealValue: 45000 } });
    assert.deepEqual(pcOnly.toSalesforce, { Amount: 45000 });
    assert.deepEqual(pcOnly.toPartnerCenter, {});
    assert.equal(pcOnly.decisions[0].winner, 'partnerCenter');
  });

  it('never gives a field whose inbound updates are paused to Partner Center', () => {
    const mapping = {
      ...defaultMapping,
      fields: defaultMapping.fields.map((entry) =>
        entry.name === 'dealValue'
          ? { ...entry, owner: 'partnerCenter' as const, inboundUpdates: false }
          : entry,
      ),
    };
    const details = (dealValue: number) => ({ ...(sampleReferral().details as object), dealValue });
    const pcOnly = resolveConflict({ ...inputOf({}, { details: details(45000) }), mapping });
    assert.deepEqual(pcOnly, { toPartnerCenter: {}, toSalesforce: {}, decisions: [] });
    const both = resolveConflict({ ...inputOf({ Amount: 2000 }, { details: details(45000) }), mapping });
    assert.deepEqual(both.toPartnerCenter, { 'details.dealValue': 2000 });
    assert.deepEqual(both.toSalesforce, {});
    assert.equal(both.decisions[0].winner, 'salesforce');
    assert.match(both.decisions[0].reason, /updates of it are paused in the mapping/);
  });

  it("gives a field changed on both sides to the mapping's owner and hands the loser the winner's value", () => {
    const both = resolve(
      { Amount: 2000, StageName: 'Closed Won', IsClosed: true, IsWon: true },
      {
        status: 'Closed',
        substatus: 'Lost',
        details: { ...(sampleReferral().details as object), dealValue: 45000 },
      },
    );
    // Amount is owned by Salesforce, the stage by Partner Center.
    assert.deepEqual(both.toPartnerCenter, { 'details.dealValue': 2000 });
    assert.deepEqual(both.toSalesforce, { StageName: 'Closed Lost' });
    assert.deepEqual(
      both.decisions.map((decision) => [decision.field, decision.winner]),
      [
        ['dealValue', 'salesforce'],
        ['stage', 'partnerCenter'],
      ],
    );
    assert.match(both.decisions[1].reason, /owner/);
  });

  it('treats every difference as changed on both sides when nothing was synced before', () => {
    const result = resolve({ Name: 'Seller name' }, { name: 'Microsoft name' }, null as never);
    assert.deepEqual(result.toPartnerCenter, { name: 'Seller name' });
  });

  it('lets a Salesforce stage win with the status it implies', () => {
    const result = resolve({ StageName: 'Closed Won', IsClosed: true, IsWon: true }, {});
    assert.deepEqual(result.toPartnerCenter, { status: 'Closed', substatus: 'Won' });
  });

  it('names the value the losing side gave up, for the audit trail', () => {
    const both = resolve(
      { Amount: 2000 },
      { details: { ...(sampleReferral().details as object), dealValue: 45000 } },
    );
    assert.equal(
      describeDecision(both.decisions[0]),
      'dealValue: salesforce kept (changed on both sides since the last sync; the mapping makes salesforce its owner); Partner Center value 45000 replaced',
    );
  });
});

describe('salesforceHeldFields', () => {
  const held = (...args: Parameters<typeof inputOf>) => salesforceHeldFields(inputOf(...args)).fields;

  it('holds a Salesforce change not yet sent, whether or not Partner Center changed the field too', () => {
    assert.deepEqual(held({ Amount: 2000 }, {}), ['Amount']);
    assert.deepEqual(
      held({ Amount: 2000 }, { details: { ...(sampleReferral().details as object), dealValue: 45000 } }),
      ['Amount'],
    );
  });

  it('holds nothing Partner Center alone changed, or owns', () => {
    assert.deepEqual(
      held({}, { details: { ...(sampleReferral().details as object), dealValue: 45000 } }),
      [],
    );
  });
});

describe('partnerCenterHeldPaths', () => {
  const held = (...args: Parameters<typeof inputOf>) => partnerCenterHeldPaths(inputOf(...args)).paths;
  const sellerWon = { StageName: 'Closed Won', IsClosed: true, IsWon: true };

  it('holds the stage, which the mapping gives Partner Center, when both sides moved it since the last sync', () => {
    assert.deepEqual(held(sellerWon, { status: 'Closed', substatus: 'Lost' }), ['status', 'substatus']);
  });

  it('holds nothing only Salesforce changed, nor a field Salesforce owns that both changed', () => {
    assert.deepEqual(held(sellerWon, {}), []);
    assert.deepEqual(
      held({ Amount: 2000 }, { details: { ...(sampleReferral().details as object), dealValue: 45000 } }),
      [],
    );
  });
});
