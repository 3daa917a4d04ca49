import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { writeTempFile } from '../../relay/src/cli/testSupport.ts';
import { ROOT, sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { waitForQueueIdle } from '../support/inboundChecks.ts';
import { opportunity, signInSeller } from '../support/seller.ts';
import type { Seller } from '../support/seller.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * A per-field inbound pause (`inboundUpdates: false` on the notes entry): a new Opportunity gets the
 * referral's notes, Partner Center's later notes stay there (and are not sent back over), the
 * other fields keep syncing, and a seller's own edit of the notes still goes out.
 */

let system: TestSystem;
let seller: Seller;

before(async () => {
  const mapping = JSON.parse(readFileSync(`${ROOT}/config/mapping.json`, 'utf8')) as {
    fields: Array<Record<string, unknown>>;
  };
  for (const entry of mapping.fields) if (entry.name === 'notes') entry.inboundUpdates = false;
  system = await startTestSystem({
    env: { MAPPING_FILE: writeTempFile('mapping.json', JSON.stringify(mapping)) },
  });
  seller = await signInSeller(system.sandboxes);
});
after(() => system.stop());

const pc = () => system.sandboxes.partnerCenter;
const notesOf = (referralId: string) =>
  (pc().referrals.get(referralId)?.details as { notes?: string } | undefined)?.notes;

describe('inbound pause of one field', () => {
  test("keeps the deal's notes through Partner Center's updates, and lets the seller's edit out", async () => {
    const referral = pc().referrals.createAsMicrosoft(
      // Accepted: Partner Center takes no partner edits of a referral still waiting for an answer.
      sampleReferral({
        name: 'Paused notes',
        status: 'Active',
        substatus: 'Accepted',
        details: { notes: 'First notes from Microsoft' },
      }),
    );
    const referralId = referral.id as string;
    const created = await waitFor(
      () => system.sandboxes.salesforce.store.findBy('Opportunity', 'Referral_Identifier__c', referralId)[0],
      { message: 'the Opportunity' },
    );
    const opportunityId = created.Id as string;
    assert.equal(created.Description, 'First notes from Microsoft', 'a new deal gets the notes');
    await waitForQueueIdle(system.relay.database.pool);

    pc().referrals.update(referralId, {
      name: 'Paused notes, renamed',
      details: { notes: 'Newer notes from Microsoft' },
    });
    const renamed = await waitFor(
      () => {
        const r = opportunity(system.sandboxes, opportunityId);
        return r.Name === 'Paused notes, renamed' ? r : null;
      },
      { message: 'the name update' },
    );
    assert.equal(renamed.Description, 'First notes from Microsoft', 'the paused field keeps its value');
    assert.match(
      String(renamed.Audit__c),
      /Updated from Partner Center: Name; Not updated \(paused in the mapping\): Description/,
    );
    await waitForQueueIdle(system.relay.database.pool);
    assert.equal(
      notesOf(referralId),
      'Newer notes from Microsoft',
      "the deal's older notes are not sent back",
    );

    // A seller's edit of another field sends that field only, not the deal's older notes.
    await seller.update(opportunityId, { Amount: 7770 });
    await waitFor(
      () =>
        (pc().referrals.get(referralId)?.details as { dealValue?: number } | undefined)?.dealValue === 7770,
      { message: "the seller's amount to go out" },
    );
    await waitForQueueIdle(system.relay.database.pool);
    assert.equal(notesOf(referralId), 'Newer notes from Microsoft', 'the paused field is not sent back');

    await seller.update(opportunityId, { Description: 'Notes the seller wrote' });
    await waitFor(() => notesOf(referralId) === 'Notes the seller wrote', {
      message: "the seller's notes to go out",
    });
  });
});
