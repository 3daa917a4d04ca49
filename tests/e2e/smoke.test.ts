import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import { waitFor } from '../support/waitFor.ts';

test('a referral shared by Microsoft becomes exactly one Opportunity with the mapped values', async (t) => {
  const system = await startTestSystem();
  t.after(() => system.stop());
  const referral = system.sandboxes.partnerCenter.referrals.createAsMicrosoft(sampleReferral());
  const opportunity = await waitFor(
    () =>
      system.sandboxes.salesforce.store.findBy(
        'Opportunity',
        'Referral_Identifier__c',
        referral.id as string,
      )[0],
    { message: 'the Opportunity' },
  );
  assert.equal(opportunity.Name, 'Contoso AI pilot');
  assert.equal(opportunity.Amount, 50000);
  assert.equal(opportunity.CloseDate, '2026-12-31');
  assert.equal(opportunity.StageName, 'Prospecting');
  assert.equal(opportunity.Sync_with_Partner_Center__c, true);
  assert.equal(opportunity.Referral_Sync_Status__c, 'Synced');
  assert.equal(system.sandboxes.salesforce.store.all('Opportunity').length, 1);
});
