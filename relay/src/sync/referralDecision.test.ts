import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideInbound, referralCategory } from './referralDecision.ts';
import { sampleReferral } from './testFixtures.ts';

describe('which referrals sync', () => {
  it('syncs a referral of its own, whatever event announced it', () => {
    assert.equal(decideInbound(sampleReferral(), null).kind, 'sync');
  });

  it('syncs the other side of an engagement through the referral of ours it stands beside', () => {
    const decision = decideInbound(sampleReferral({ id: 'theirs' }), 'ours');
    assert.deepEqual(decision, {
      kind: 'via',
      referralId: 'ours',
      message:
        'Referral theirs is the other side of engagement 65921e35-4f28-472f-9ae4-58ddd6ae6270; synced through referral ours',
    });
    assert.equal(decideInbound(sampleReferral({ id: 'ours' }), 'ours').kind, 'sync');
  });

  it('never makes an Opportunity of the referral for Microsoft of a co-sell pair', () => {
    const forMicrosoft = sampleReferral({ target: [{ type: 'BusinessProfileLocation', id: 'msft' }] });
    assert.equal(decideInbound(forMicrosoft, null).kind, 'skip');
  });

  it('classifies referrals as the contract table does', () => {
    const invited = (organizationId: string | null) => ({
      notes: '',
      invitedBy: organizationId === null ? null : { organizationId },
    });
    const lead = sampleReferral({
      type: 'Independent',
      qualification: 'Direct',
      inviteContext: invited(null),
    });
    assert.equal(referralCategory(lead), 'marketplace lead');
    const qualified = sampleReferral({
      type: 'Independent',
      qualification: 'MarketingQualified',
      inviteContext: invited('msft'),
    });
    assert.equal(referralCategory(qualified), 'qualified lead');
    const cosell = sampleReferral({
      type: 'Shared',
      qualification: 'SalesQualified',
      inviteContext: invited('b97870f2'),
    });
    assert.equal(referralCategory(cosell), 'co-sell opportunity');
  });
});
