import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_SELLER_USER } from '../../relay/sandbox/salesforce/users.ts';
import { runCli } from '../../relay/src/cli/testSupport.ts';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { opportunity, signInSeller } from '../support/seller.ts';
import type { Seller } from '../support/seller.ts';
import { waitFor } from '../support/waitFor.ts';
import { waitForQueueIdle } from '../support/inboundChecks.ts';

/**
 * Sync now, end to end: the panel's button (the sandbox org's copy of ReferralSyncNowController
 * publishes a Resync event), the admin API and `relay sync` each bring over a change whose webhook
 * Partner Center lost, and report what happened.
 */

const ADMIN_TOKEN = 'sync-now-test-admin-token';
let system: TestSystem;
let seller: Seller;

before(async () => {
  system = await startTestSystem({ env: { ADMIN_TOKEN } });
  seller = await signInSeller(system.sandboxes);
});
after(() => system.stop());

const pc = () => system.sandboxes.partnerCenter;
const sellerId = () =>
  system.sandboxes.salesforce.store.findBy('User', 'Username', DEFAULT_SELLER_USER.username)[0]?.Id as string;

/** A synced pair whose referral then changes in Partner Center with its webhook lost. */
async function pairWithLostChange(name: string): Promise<{ referralId: string; opportunityId: string }> {
  const referral = pc().referrals.createAsMicrosoft(sampleReferral({ name }));
  const referralId = referral.id as string;
  const record = await waitFor(
    () => system.sandboxes.salesforce.store.findBy('Opportunity', 'Referral_Identifier__c', referralId)[0],
    { message: `the Opportunity for ${referralId}` },
  );
  await waitForQueueIdle(system.relay.database.pool);
  pc().faults.loseNextDeliveries(1);
  pc().referrals.update(referralId, { details: { notes: `${name}: notes nobody announced` } });
  await waitFor(
    () =>
      pc()
        .deliveries.list()
        .every((d) => d.state !== 'pending'),
    {
      message: 'the lost delivery to be given up',
    },
  );
  await waitForQueueIdle(system.relay.database.pool);
  const opportunityId = record.Id as string;
  assert.notEqual(
    opportunity(system.sandboxes, opportunityId).Description,
    `${name}: notes nobody announced`,
  );
  return { referralId, opportunityId };
}

describe('sync now', () => {
  test('the panel button shows Pending, then Synced, with the change Partner Center never announced', async () => {
    const { opportunityId } = await pairWithLostChange('Panel sync now');
    system.sandboxes.syncNow(opportunityId, sellerId());
    assert.equal(opportunity(system.sandboxes, opportunityId).Referral_Sync_Status__c, 'Pending');
    const record = await waitFor(
      () => {
        const r = opportunity(system.sandboxes, opportunityId);
        return r.Referral_Sync_Status__c === 'Synced' &&
          r.Description === 'Panel sync now: notes nobody announced'
          ? r
          : null;
      },
      { message: 'the Resync event to bring the notes over' },
    );
    assert.match(String(record.Audit__c), /Updated from Partner Center: Description/);
  });

  test('the panel button refuses a record that is not synced, and publishes nothing', async () => {
    const opportunityId = await seller.createOpportunity();
    const before = system.sandboxes.pubsub.counters.eventsPublished;
    assert.throws(
      () => system.sandboxes.syncNow(opportunityId, sellerId()),
      /Turn on Sync with Partner Center first/,
    );
    assert.equal(system.sandboxes.pubsub.counters.eventsPublished, before);
  });

  test('the admin API syncs a pair by its referral id and answers with the audit lines of the run', async () => {
    const { referralId, opportunityId } = await pairWithLostChange('API sync now');
    const result = await system.relay.operations.syncNow(referralId, 30_000);
    assert.equal(result.done, true);
    assert.equal(result.status, 'Synced');
    assert.equal(result.opportunityId, opportunityId);
    assert.deepEqual(result.queued.sort(), ['inbound', 'outbound']);
    assert.ok(
      result.audit.some(
        (e) => e.direction === 'inbound' && /Updated from Partner Center: Description/.test(e.message),
      ),
      JSON.stringify(result.audit),
    );
    assert.equal(
      opportunity(system.sandboxes, opportunityId).Description,
      'API sync now: notes nobody announced',
    );
  });

  test('`relay sync <opportunityId>` prints the run and exits 0; an unknown id is a clear error', async () => {
    const { opportunityId } = await pairWithLostChange('CLI sync now');
    const env = { RELAY_URL: system.relay.url, ADMIN_TOKEN };
    const ok = await runCli(['sync', opportunityId, '--wait', '30'], env);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /Updated from Partner Center: Description/);
    assert.match(ok.stdout, /Status: Synced/);
    assert.equal(
      opportunity(system.sandboxes, opportunityId).Description,
      'CLI sync now: notes nobody announced',
    );

    const missing = await runCli(['sync', '00000000-0000-0000-0000-000000000000'], env);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /00000000-0000-0000-0000-000000000000: no referral or CRM record with this id/,
    );
    const bad = await runCli(['sync', 'x', '--wait', 'soon'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--wait: must be whole seconds/);
  });

  test('`relay mapping test <id>` and the pair page show what a sync would write, and write nothing', async () => {
    const { referralId, opportunityId } = await pairWithLostChange('Dry run');
    const env = { RELAY_URL: system.relay.url, ADMIN_TOKEN };
    const run = await runCli(['mapping', 'test', referralId], env);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const notes = run.stdout.split('\n').find((line) => line.startsWith('notes'));
    assert.ok(notes, run.stdout);
    assert.match(notes, /text .* yes .*"Dry run: notes nobody announced"/);
    assert.match(run.stdout, /dry run: nothing is written/);

    const json = await runCli(['mapping', 'test', opportunityId, '--json'], env);
    const test = JSON.parse(json.stdout) as {
      plan: { fields: Array<{ name: string; toDeal?: unknown; differs: boolean }> };
    };
    const planned = test.plan.fields.find((f) => f.name === 'notes');
    assert.equal(planned?.toDeal, 'Dry run: notes nobody announced');
    assert.equal(test.plan.fields.find((f) => f.name === 'dealValue')?.differs, false);
    assert.notEqual(
      opportunity(system.sandboxes, opportunityId).Description,
      'Dry run: notes nobody announced',
    );

    const { linkId } = JSON.parse(json.stdout) as { linkId: number };
    const page = await fetch(`${system.relay.url}/links/${linkId}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const html = await page.text();
    assert.match(html, /Dry run/);
    assert.match(html, /a sync now would write 1 field/);
    assert.match(html, /data-plan-field="notes"/);

    const unknown = await runCli(['mapping', 'test', 'no-such-record'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no-such-record: the relay links no referral or CRM record with this id/);
  });
});
