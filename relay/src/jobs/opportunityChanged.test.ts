import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SALESFORCE_FIELDS } from '../crm/salesforce/adapter.ts';
import type { Link } from '../store/links.ts';
import { defaultMapping } from '../sync/testFixtures.ts';
import { missingPairFields, outboundJobPayload, updateFields, usableSnapshot } from './opportunityChanged.ts';
import { writeOpportunity } from './opportunityWrites.ts';

const ctx = { mapping: defaultMapping, crm: { fields: SALESFORCE_FIELDS } };
const OPPORTUNITY = '006Sb0000000001AAA';

function link(overrides: Partial<Link['dealWrites']> = {}, referralId: string | null = 'ref-1'): Link {
  return {
    id: 1,
    referralId,
    opportunityId: OPPORTUNITY,
    engagementId: null,
    accountId: null,
    referralEtag: null,
    referralUpdatedAt: null,
    inboundValues: null,
    inboundFingerprint: null,
    outboundValues: null,
    outboundFingerprint: null,
    pendingValues: null,
    opportunityVersion: null,
    syncStatus: 'Synced',
    lastError: null,
    lastSyncedAt: null,
    updatedAt: new Date(),
    dealWrites: { seq: 3, pending: 0, startedAt: null, landed: 3, ...overrides },
    dealDeletedAt: null,
  };
}

/** A snapshot as the package builds it: every field the update reads. */
function snapshot(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const values: Record<string, unknown> = Object.fromEntries(updateFields(ctx).map((f) => [f, null]));
  return {
    ...values,
    Id: OPPORTUNITY,
    Referral_Identifier__c: 'ref-1',
    Relay_Write_Count__c: 3,
    Amount: 2500,
    ...overrides,
  };
}

test('a snapshot that includes every relay write stands in for the query', () => {
  const s = snapshot();
  assert.equal(usableSnapshot(ctx, OPPORTUNITY, link(), s), s);
  // The 15-character form of the id names the same record.
  assert.equal(usableSnapshot(ctx, OPPORTUNITY.slice(0, 15), link(), s), s);
});

test('the job queries instead when the snapshot cannot be trusted or is not enough', () => {
  const cases: Array<[string, Link | null, Record<string, unknown> | undefined]> = [
    ['no snapshot (an older package, a reconcile job)', link(), undefined],
    ['no link yet', null, snapshot()],
    ['not paired yet: a create needs the Account and the contact', link({}, null), snapshot()],
    ['taken before the relay’s latest write', link({ landed: 4 }), snapshot()],
    ['a relay write still unanswered', link({ pending: 1 }), snapshot()],
    ['the relay’s count unknown', link({ landed: null }), snapshot()],
    ['another record', link(), snapshot({ Id: '006Sb0000000002AAA' })],
    ['paired with another referral', link(), snapshot({ Referral_Identifier__c: 'ref-2' })],
  ];
  for (const [why, l, s] of cases) assert.equal(usableSnapshot(ctx, OPPORTUNITY, l, s), null, why);
  const missing = snapshot();
  delete missing.StageName;
  assert.equal(usableSnapshot(ctx, OPPORTUNITY, link(), missing), null, 'a mapped field missing');
});

test('the job payload carries the change’s snapshot, with the change’s time as its version', () => {
  const change = { dealId: OPPORTUNITY, changeKind: 'Updated', changedFields: ['Amount'], changedAt: 0 };
  assert.deepEqual(outboundJobPayload({ ...change, snapshot: { Id: 'x', Amount: 5 } }), {
    opportunityId: OPPORTUNITY,
    changeKind: 'Updated',
    changedFields: ['Amount'],
    snapshot: { Id: 'x', Amount: 5 },
    eventCreatedAt: 0,
  });
  assert.deepEqual(outboundJobPayload({ dealId: OPPORTUNITY, changedFields: [] }), {
    opportunityId: OPPORTUNITY,
    changeKind: undefined,
    changedFields: [],
  });
});

test('a relay write without audit lines is refused before anything is sent', async () => {
  // No database and no Salesforce: reaching either would fail with another error than this one.
  await assert.rejects(
    writeOpportunity(
      { crm: { fields: SALESFORCE_FIELDS } } as Parameters<typeof writeOpportunity>[0],
      { opportunityId: OPPORTUNITY },
      {
        Id: OPPORTUNITY,
        Amount: 1,
      },
    ),
    /must carry Audit_Entry__c lines/,
  );
});

test('missingPairFields asks for the referral id and link an Opportunity lacks, and nothing once it has them', () => {
  const template = 'https://partner.microsoft.com/referrals/{id}';
  assert.deepEqual(
    missingPairFields(
      SALESFORCE_FIELDS,
      { Id: OPPORTUNITY, Referral_Identifier__c: null },
      'ref 1',
      template,
    ),
    {
      Referral_Identifier__c: 'ref 1',
      Referral_Link__c: 'https://partner.microsoft.com/referrals/ref%201',
    },
  );
  assert.deepEqual(
    missingPairFields(
      SALESFORCE_FIELDS,
      { Id: OPPORTUNITY, Referral_Identifier__c: 'ref-1', Referral_Link__c: '' },
      'ref-1',
      template,
    ),
    { Referral_Link__c: 'https://partner.microsoft.com/referrals/ref-1' },
  );
  // A snapshot without the link field says nothing about the link.
  assert.deepEqual(
    missingPairFields(
      SALESFORCE_FIELDS,
      { Id: OPPORTUNITY, Referral_Identifier__c: 'ref-1' },
      'ref-1',
      template,
    ),
    {},
  );
  assert.deepEqual(
    missingPairFields(
      SALESFORCE_FIELDS,
      { Id: OPPORTUNITY, Referral_Identifier__c: 'ref-1', Referral_Link__c: 'https://x/ref-1' },
      'ref-1',
      template,
    ),
    {},
  );
});
