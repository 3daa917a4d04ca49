import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_SELLER_USER } from '../../relay/sandbox/salesforce/users.ts';
import { findLinkByOpportunity } from '../../relay/src/store/links.ts';
import { startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { waitForQueueIdle } from '../support/inboundChecks.ts';
import { opportunity, signInSeller, syncedReferralOf } from '../support/seller.ts';
import type { Seller } from '../support/seller.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * Deletes end to end: a seller deletes a synced Opportunity (the sandbox org's trigger publishes
 * Deleted), the relay applies DEAL_DELETED_RULE to the referral and keeps the pair marked, a later
 * referral change makes no new Opportunity, and a restore from the recycle bin re-links the pair.
 */

async function syncedPair(system: TestSystem, seller: Seller) {
  const opportunityId = await seller.createOpportunity({ Sync_with_Partner_Center__c: true });
  return { opportunityId, referralId: await syncedReferralOf(system.sandboxes, opportunityId) };
}

const sellerId = (system: TestSystem) =>
  system.sandboxes.salesforce.store.findBy('User', 'Username', DEFAULT_SELLER_USER.username)[0]?.Id as string;

describe('deletes: DEAL_DELETED_RULE=close (the default)', () => {
  let system: TestSystem;
  let seller: Seller;
  before(async () => {
    system = await startTestSystem();
    seller = await signInSeller(system.sandboxes);
  });
  after(() => system.stop());
  const pc = () => system.sandboxes.partnerCenter;
  const pool = () => system.relay.database.pool;

  test('closes the referral with the reason, keeps the pair marked, makes no orphan, and a restore re-links', async () => {
    const { opportunityId, referralId } = await syncedPair(system, seller);
    const status = pc().referrals.get(referralId)?.status as string;
    await seller.connection.sobject('Opportunity').destroy(opportunityId);

    const closed = await waitFor(
      () => {
        const r = pc().referrals.get(referralId);
        return r?.status === 'Closed' ? r : null;
      },
      { message: 'the referral to be closed' },
    );
    assert.equal(closed.substatus, status === 'New' ? 'Declined' : 'Lost');
    assert.equal(closed.statusReason, 'The deal was deleted in the CRM');
    const link = await waitFor(
      async () =>
        (await findLinkByOpportunity(pool(), opportunityId))?.dealDeletedAt
          ? findLinkByOpportunity(pool(), opportunityId)
          : null,
      {
        message: 'the link marked deleted',
      },
    );
    assert.equal(link?.referralId, referralId, 'the pair is kept');
    assert.equal(link?.syncStatus, 'Error');
    assert.match(
      String(link?.lastError),
      /Opportunity deleted in the CRM; referral .* closed as Closed\/(Lost|Declined)/,
    );

    // Partner Center's own change of the closed referral makes no new Opportunity for it.
    pc().referrals.update(
      referralId,
      { details: { ...(closed.details as object), notes: 'after the delete' } },
      { force: true },
    );
    // The webhook's job may not be queued yet when the update returns: wait for its audit line.
    await waitFor(
      async () =>
        (await system.relay.operations.listAudit({ referralId, limit: 20 })).some((e) =>
          /Not written: Opportunity .* was deleted in the CRM/.test(e.message),
        ),
      { message: 'the inbound job to refuse to recreate the deleted Opportunity' },
    );
    await waitForQueueIdle(pool());
    assert.equal(
      system.sandboxes.salesforce.store.findBy('Opportunity', 'Referral_Identifier__c', referralId).length,
      0,
    );

    // Restored from the recycle bin: the pair is linked again and the record says where it stands.
    assert.ok(system.sandboxes.salesforce.store.undelete('Opportunity', opportunityId, sellerId(system)));
    const restored = await waitFor(
      () => {
        const r = opportunity(system.sandboxes, opportunityId);
        return /which is final/.test(String(r.Audit__c)) ? r : null;
      },
      { message: 'the restored record to be synced' },
    );
    assert.equal(restored.Referral_Sync_Status__c, 'Error');
    const relinked = await findLinkByOpportunity(pool(), opportunityId);
    assert.equal(relinked?.dealDeletedAt, null);
    assert.equal(relinked?.referralId, referralId);
    const trail = await system.relay.operations.listAudit({ opportunityId, limit: 20 });
    assert.ok(trail.some((e) => e.message === 'Opportunity restored in the CRM; the pair syncs again'));
  });

  test('a deleted record that was never paired changes nothing in Partner Center', async () => {
    const opportunityId = await seller.createOpportunity();
    const before = system.sandboxes.pubsub.counters.eventsPublished;
    await seller.connection.sobject('Opportunity').destroy(opportunityId);
    assert.equal(
      system.sandboxes.pubsub.counters.eventsPublished,
      before,
      'no event for a record without a referral or sync',
    );
  });
});

// One system for a relay with its own rules: deletes kept open, and a configured solution list.
describe('a relay with DEAL_DELETED_RULE=keep-open and PARTNER_SOLUTION_IDS', () => {
  let system: TestSystem;
  let seller: Seller;
  before(async () => {
    system = await startTestSystem({
      env: { DEAL_DELETED_RULE: 'keep-open', PARTNER_SOLUTION_IDS: 'SOL-34104-EBB,SOL-6115380-IPC' },
    });
    seller = await signInSeller(system.sandboxes);
  });
  after(() => system.stop());

  test('leaves the referral open and marks the pair', async () => {
    const { opportunityId, referralId } = await syncedPair(system, seller);
    const status = system.sandboxes.partnerCenter.referrals.get(referralId)?.status;
    await seller.connection.sobject('Opportunity').destroy(opportunityId);
    const link = await waitFor(
      async () => {
        const found = await findLinkByOpportunity(system.relay.database.pool, opportunityId);
        return found?.dealDeletedAt ? found : null;
      },
      { message: 'the link marked deleted' },
    );
    assert.match(String(link.lastError), /left .* in Partner Center \(DEAL_DELETED_RULE=keep-open\)/);
    assert.equal(system.sandboxes.partnerCenter.referrals.get(referralId)?.status, status);
  });

  test("refuses to create a referral naming a solution that is not the partner's, with the reason on the record", async () => {
    const opportunityId = await seller.createOpportunity({ Partner_Center_Solutions__c: 'SOL-99999-XYZ' });
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
    const record = await waitFor(
      () => {
        const r = opportunity(system.sandboxes, opportunityId);
        return r.Referral_Sync_Status__c === 'Error' ? r : null;
      },
      { message: 'the refusal on the record' },
    );
    assert.match(String(record.Audit__c), /"SOL-99999-XYZ" is not one of this partner's solutions/);
    assert.equal(
      system.sandboxes.partnerCenter.referrals.list().filter((r) => r.externalReferenceId === opportunityId)
        .length,
      0,
      'nothing was created',
    );
  });
});
