import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffOpportunity, diffReferral, planReferralPatch } from './diff.ts';
import { mapReferralToOpportunity } from './inbound.ts';
import { mapOpportunityToReferral } from './outbound.ts';
import { defaultMapping, sampleOpportunity, sampleReferral } from './testFixtures.ts';

function desiredFrom(opportunity: Record<string, unknown>) {
  return mapOpportunityToReferral({ opportunity: sampleOpportunity(opportunity) }, defaultMapping);
}

describe('diffReferral', () => {
  it('sends nothing when the Opportunity matches the referral', () => {
    assert.deepEqual(diffReferral(desiredFrom({}), sampleReferral()), []);
  });

  it('sends exactly one replace when only the Amount changed', () => {
    assert.deepEqual(diffReferral(desiredFrom({ Amount: 2000 }), sampleReferral()), [
      { op: 'replace', path: '/details/dealValue', value: 2000 },
    ]);
  });

  it('ignores differences of spelling: numeric strings, time of day, solution order and case', () => {
    const referral = sampleReferral({
      details: {
        notes: 'Needs a landing zone',
        dealValue: '30000',
        currency: 'USD',
        closingDateTime: '2026-03-24T18:30:00Z',
        requirements: { solutions: [{ id: 'sol-2-bbb' }, { id: 'SOL-1-AAA', name: 'One' }] },
      },
    });
    const desired = desiredFrom({ Partner_Center_Solutions__c: 'SOL-1-AAA;SOL-2-BBB' });
    assert.deepEqual(diffReferral(desired, referral), []);
  });

  it('replaces the solution list keeping the details of solutions already there', () => {
    const ops = diffReferral(
      desiredFrom({ Partner_Center_Solutions__c: 'SOL-6115380-IPC;SOL-9-NEW' }),
      sampleReferral(),
    );
    assert.deepEqual(ops, [
      {
        op: 'replace',
        path: '/details/requirements/solutions',
        value: [
          { id: 'SOL-6115380-IPC', name: 'Landing Zone', type: 'Name', publisherName: 'Fabrikam' },
          { id: 'SOL-9-NEW', type: 'Name' },
        ],
      },
    ]);
  });

  it('adds a missing key, and a missing parent whole', () => {
    const referral = sampleReferral({ inviteContext: undefined, details: { dealValue: 30000 } });
    delete referral.inviteContext;
    const ops = diffReferral(
      {
        'details.notes': 'new',
        'inviteContext.assistanceRequestCode': 'QuotesOrLicensing',
        'inviteContext.notes': 'hi',
      },
      referral,
    );
    assert.deepEqual(ops, [
      { op: 'add', path: '/details/notes', value: 'new' },
      {
        op: 'add',
        path: '/inviteContext',
        value: { assistanceRequestCode: 'QuotesOrLicensing', notes: 'hi' },
      },
    ]);
  });

  it('sends no help code when the picklist is blank and the referral says Unknown', () => {
    const referral = sampleReferral({ inviteContext: { assistanceRequestCode: 'Unknown' } });
    assert.deepEqual(diffReferral(desiredFrom({ How_can_Microsoft_help__c: null }), referral), []);
  });

  it('sends nothing at all for a terminal referral, and says why', () => {
    const referral = sampleReferral({ status: 'Closed', substatus: 'Won' });
    const plan = planReferralPatch(desiredFrom({ Amount: 1, StageName: 'Qualification' }), referral);
    assert.deepEqual(plan.ops, []);
    assert.deepEqual(plan.blocked, [
      'referral is Closed/Won, a terminal state; not sent: details.dealValue, status',
    ]);
    assert.deepEqual(
      planReferralPatch(desiredFrom({ StageName: 'Closed Won', IsWon: true, IsClosed: true }), referral),
      {
        ops: [],
        blocked: [],
      },
    );
  });

  it('closes a won deal after the field edits', () => {
    const ops = diffReferral(
      desiredFrom({ Amount: 5, StageName: 'Closed Won', IsClosed: true, IsWon: true }),
      sampleReferral(),
    );
    assert.deepEqual(ops, [
      { op: 'replace', path: '/details/dealValue', value: 5 },
      { op: 'replace', path: '/status', value: 'Closed' },
      { op: 'replace', path: '/substatus', value: 'Won' },
    ]);
  });

  it('holds edits while the referral is New and the Opportunity on hold, then accepts first', () => {
    const referral = sampleReferral({ status: 'New', substatus: 'Pending' });
    const held = planReferralPatch(desiredFrom({ StageName: 'Prospecting', Amount: 10 }), referral);
    assert.deepEqual(held.ops, []);
    assert.match(held.blocked[0], /New\/Pending \(not accepted yet\); held .*details\.dealValue/);
    assert.deepEqual(diffReferral(desiredFrom({ StageName: 'Qualification', Amount: 10 }), referral), [
      { op: 'replace', path: '/status', value: 'Active' },
      { op: 'replace', path: '/substatus', value: 'Accepted' },
      { op: 'replace', path: '/details/dealValue', value: 10 },
    ]);
  });

  it('never withdraws the consent to share with Microsoft sellers', () => {
    const plan = planReferralPatch(desiredFrom({ Referral_Visibility__c: false }), sampleReferral());
    assert.deepEqual(plan.ops, []);
    assert.match(plan.blocked[0], /consentToShareReferralWithMicrosoftSellers cannot be withdrawn/);
  });
});

describe('diffOpportunity', () => {
  it('returns only the fields that differ, treating blanks, numbers and dates by value', () => {
    const current = sampleOpportunity({ Description: '', CloseDate: '2026-03-24', Amount: 30000 });
    const desired = { Description: null, CloseDate: '2026-03-24', Amount: '30000.0', Name: 'Renamed' };
    assert.deepEqual(diffOpportunity(desired, current), { Name: 'Renamed' });
  });

  it('writes nothing after an inbound sync of the same referral', () => {
    const { fields } = mapReferralToOpportunity(sampleReferral(), defaultMapping);
    const current = sampleOpportunity({
      Referral_Status__c: 'Active',
      Referral_Substatus__c: 'Accepted',
      Referral_Link__c: fields.Referral_Link__c,
      Microsoft_CRM_Identifier__c: '7-ABCDEF',
    });
    assert.deepEqual(diffOpportunity(fields, current, defaultMapping), {});
  });

  it("keeps a seller's own open stage and solution order when the category and ids match", () => {
    const current = sampleOpportunity({
      StageName: 'Negotiation/Review',
      Partner_Center_Solutions__c: 'SOL-2-B;SOL-1-A',
    });
    const desired = { StageName: 'Qualification', Partner_Center_Solutions__c: 'SOL-1-A;SOL-2-B' };
    assert.deepEqual(diffOpportunity(desired, current, defaultMapping), {});
    assert.deepEqual(diffOpportunity({ StageName: 'Closed Lost' }, current, defaultMapping), {
      StageName: 'Closed Lost',
    });
  });
});
