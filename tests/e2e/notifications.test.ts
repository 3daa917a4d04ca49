import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Notification } from '../../relay/src/notifications/messages.ts';
import { enqueue, TASKS } from '../../relay/src/store/queue.ts';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { waitForQueueIdle } from '../support/inboundChecks.ts';
import { opportunity, signInSeller } from '../support/seller.ts';
import type { Seller } from '../support/seller.ts';
import { startStubServer } from '../support/stubServer.ts';
import type { StubServer } from '../support/stubServer.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * Notifications end to end: the relay, configured with NOTIFICATIONS, posts to local receivers as
 * the sync sees a new referral from Microsoft, Microsoft's answer to a co-sell referral, a record it
 * gave up on and an unanswered referral about to expire. Each kind reaches a receiver once; a
 * receiver that fails with a 5xx gets the post again, one that answers 4xx does not.
 */

const DAY = 24 * 3600 * 1000;
let system: TestSystem;
let seller: Seller;
let json: StubServer<Notification & { title: string; summary: string }>;
let slack: StubServer<{ text: string; blocks: unknown[] }>;
let gone: StubServer;
// Partner Center's clock starts 13 days back, for one referral made before the tests (its ticks only
// move forward, so it cannot be set back later).
let clockOffsetMs = 13 * DAY;
let nearlyExpired: string;
let slackFailures = 1;

before(async () => {
  json = await startStubServer();
  // Fails the first post with a 503: the queue retries it.
  slack = await startStubServer(() => (slackFailures-- > 0 ? { status: 503 } : { status: 200 }));
  gone = await startStubServer(() => ({ status: 410 }));
  const targets = [
    {
      name: 'ops-json',
      url: json.url,
      format: 'json',
      events: [
        'referral-received',
        'referral-accepted',
        'referral-declined',
        'referral-expiring',
        'sync-error',
      ],
    },
    { name: 'sales-slack', url: slack.url, format: 'slack', events: ['referral-received'] },
    { name: 'old-teams', url: gone.url, format: 'teams', events: ['referral-received'] },
  ];
  system = await startTestSystem({
    env: { NOTIFICATIONS: JSON.stringify(targets), NOTIFY_EXPIRY_HOURS: '48' },
    sandboxes: { partnerCenter: { now: () => new Date(Date.now() - clockOffsetMs) } },
  });
  seller = await signInSeller(system.sandboxes);
  pc().faults.loseNextDeliveries(1);
  nearlyExpired = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Nearly expired' })).id as string;
  clockOffsetMs = 0;
});
after(async () => {
  await system.stop();
  await Promise.all([json.close(), slack.close(), gone.close()]);
});

const pc = () => system.sandboxes.partnerCenter;
const pool = () => system.relay.database.pool;
const posted = (kind: string, referralId: string) =>
  json.received.map((r) => r.body).filter((n) => n?.kind === kind && n.referralId === referralId);

describe('notifications', () => {
  test('a new referral from Microsoft: one post per receiver, a 503 retried, a 410 not', async () => {
    const referral = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Notified referral' }));
    const referralId = referral.id as string;
    const [note] = await waitFor(
      () =>
        posted('referral-received', referralId).length > 0 ? posted('referral-received', referralId) : null,
      {
        message: 'the referral-received notification',
      },
    );
    const record = system.sandboxes.salesforce.store.findBy(
      'Opportunity',
      'Referral_Identifier__c',
      referralId,
    )[0];
    assert.equal(note.name, 'Notified referral');
    assert.equal(note.dealId, record.Id);
    assert.match(String(note.dealUrl), new RegExp(`/${String(record.Id)}`));
    assert.match(String(note.referralUrl), new RegExp(referralId));
    assert.ok(note.expiresAt && Date.parse(note.expiresAt) > Date.now() + 13 * DAY, note.expiresAt);
    await waitFor(() => slack.received.length >= 2, { message: 'the Slack post retried after its 503' });
    assert.match(JSON.stringify(slack.received[1].body), /Notified referral/);
    await waitForQueueIdle(pool());

    // The same referral again (a reconcile, a duplicate webhook) announces nothing new.
    await system.relay.operations.syncNow(referralId, 30_000);
    await waitForQueueIdle(pool());
    assert.equal(posted('referral-received', referralId).length, 1);
    assert.equal(slack.received.length, 2);
    assert.equal(gone.received.length, 1, 'a 410 is not retried');
    const audit = await system.relay.operations.listAudit({ referralId, limit: 50 });
    assert.ok(
      audit.some((e) => /Notification referral-received refused by old-teams \(HTTP 410\)/.test(e.message)),
    );
  });

  test("Microsoft's acceptance of a co-sell referral is announced once", async () => {
    const opportunityId = await seller.createOpportunity({
      How_can_Microsoft_help__c: 'ProofOfConceptOrDemo',
    });
    await seller.addPrimaryContact(
      opportunityId,
      opportunity(system.sandboxes, opportunityId).AccountId as string,
    );
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
    const referralId = await waitFor(
      () => opportunity(system.sandboxes, opportunityId).Referral_Identifier__c as string | undefined,
      {
        message: 'the co-sell referral',
      },
    );
    const forMicrosoft = await waitFor(
      () =>
        pc()
          .referrals.list()
          .find((r) => r.externalReferenceId === opportunityId && JSON.stringify(r.target).includes('msft')),
      { message: 'the referral shared with Microsoft' },
    );
    await waitForQueueIdle(pool());
    pc().referrals.update(
      forMicrosoft.id as string,
      { status: 'Active', substatus: 'Accepted' },
      { force: true },
    );
    const [note] = await waitFor(
      () =>
        posted('referral-accepted', referralId).length > 0 ? posted('referral-accepted', referralId) : null,
      {
        message: 'the referral-accepted notification',
      },
    );
    assert.equal(note.dealId, opportunityId);
    pc().referrals.update(forMicrosoft.id as string, { notes: 'later edit' } as Record<string, unknown>, {
      force: true,
    });
    await waitForQueueIdle(pool());
    assert.equal(posted('referral-accepted', referralId).length, 1);
  });

  test('a record the relay gave up on is announced with its error', async () => {
    // A deal value too large for Amount's precision: no retry can write it, so the job gives up.
    const referral = pc().referrals.createAsMicrosoft(
      sampleReferral({
        name: 'Unwritable referral',
        details: { ...(sampleReferral().details as object), dealValue: 1e20 },
      }),
    );
    const referralId = referral.id as string;
    const [note] = await waitFor(
      () => (posted('sync-error', referralId).length > 0 ? posted('sync-error', referralId) : null),
      {
        message: 'the sync-error notification',
      },
    );
    assert.equal(note.errorCode, 'VALIDATION_FAILED');
    assert.match(String(note.reason), /Amount/);
    await waitForQueueIdle(pool());
    assert.equal(posted('sync-error', referralId).length, 1, 'one post for one dead letter');
  });

  test('an unanswered referral inside its last 48 hours is announced once by the expiry scan', async () => {
    const old = { id: nearlyExpired };
    const fresh = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Fresh' }));
    await waitForQueueIdle(pool());
    await enqueue(pool(), TASKS.notificationExpiry, {});
    const [note] = await waitFor(
      () =>
        posted('referral-expiring', old.id as string).length > 0
          ? posted('referral-expiring', old.id as string)
          : null,
      {
        message: 'the referral-expiring notification',
      },
    );
    assert.ok(note.expiresAt && Date.parse(note.expiresAt) < Date.now() + 2 * DAY, note.expiresAt);
    await enqueue(pool(), TASKS.notificationExpiry, {});
    await waitForQueueIdle(pool());
    assert.equal(posted('referral-expiring', old.id as string).length, 1, 'once per referral');
    assert.equal(posted('referral-expiring', fresh.id as string).length, 0, 'a fresh referral is not due');
  });
});
