import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_INTEGRATION_USER } from '../../relay/sandbox/salesforce/users.ts';
import { enqueue, TASKS } from '../../relay/src/store/queue.ts';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import {
  opportunity,
  recordWrites,
  referralWrites,
  signInSeller,
  syncedReferralOf as syncedReferral,
} from '../support/seller.ts';
import type { Seller } from '../support/seller.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * Outbound sync end to end: a seller edits Opportunities through the sandbox org's REST API, the
 * sandbox's copy of the package trigger publishes Referral_Sync__e on its Pub/Sub API, and the
 * relay's subscriber and worker carry the change to the Partner Center sandbox. One system for
 * the file: every test works on its own Opportunities and referrals.
 */

let system: TestSystem;
let seller: Seller;

before(async () => {
  system = await startTestSystem();
  seller = await signInSeller(system.sandboxes);
});
after(() => system.stop());

const referrals = () => system.sandboxes.partnerCenter.referrals;
const sameId = (a: unknown, b: unknown) =>
  typeof a === 'string' && typeof b === 'string' && a.slice(0, 15) === b.slice(0, 15);

const syncedReferralOf = (opportunityId: string) => syncedReferral(system.sandboxes, opportunityId);

/** Waits until every webhook has been delivered and the worker has nothing running or queued. */
async function settled(): Promise<void> {
  await waitFor(() => system.sandboxes.partnerCenter.deliveries.list().every((d) => d.state !== 'pending'), {
    message: 'webhook deliveries to finish',
  });
  await waitFor(
    async () => {
      const { jobs } = await system.relay.operations.status();
      return jobs.queued === 0 && jobs.running === 0 && jobs.retrying === 0;
    },
    { message: 'the queue to drain' },
  );
}

describe('outbound: a seller turning on Sync', () => {
  test('creates exactly one referral keyed by the Opportunity id and writes its id, link and Synced back', async () => {
    const opportunityId = await seller.createOpportunity();
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });

    const referralId = await syncedReferralOf(opportunityId);
    const created = referrals()
      .list()
      .filter((r) => sameId(r.externalReferenceId, opportunityId));
    assert.equal(created.length, 1, 'one referral for the Opportunity');
    assert.equal(created[0].id, referralId);
    assert.equal(created[0].name, 'Fabrikam data platform');
    assert.equal((created[0].details as Record<string, unknown>).dealValue, 120000);
    assert.equal((created[0].customerProfile as { address: { country: string } }).address.country, 'US');

    const record = opportunity(system.sandboxes, opportunityId);
    assert.equal(record.Referral_Sync_Status__c, 'Synced');
    assert.equal(
      record.Referral_Link__c,
      `https://partner.microsoft.com/dashboard/referrals/v2/opportunities/${referralId}`,
    );
    assert.match(String(record.Audit__c), new RegExp(`Created Partner Center referral ${referralId}`));
    const posts = referralWrites(system.sandboxes).filter((w) =>
      sameId((w.body as { externalReferenceId?: string })?.externalReferenceId, opportunityId),
    );
    assert.equal(posts.length, 1, 'one POST');
  });

  test('adopts a referral an earlier, unanswered create already made instead of POSTing a second', async () => {
    const opportunityId = await seller.createOpportunity();
    // As if a POST reached Partner Center but its answer was lost: the referral exists, nothing knows it.
    const orphan = referrals().createAsPartner(
      sampleReferral({
        name: 'Fabrikam data platform',
        type: 'Independent',
        externalReferenceId: opportunityId,
      }),
    );
    const before = referralWrites(system.sandboxes).length;

    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });

    assert.equal(
      await syncedReferralOf(opportunityId),
      orphan.id,
      'the Opportunity is paired with the existing referral',
    );
    await settled();
    const posts = referralWrites(system.sandboxes)
      .slice(before)
      .filter((w) => w.route.startsWith('POST'));
    assert.equal(posts.length, 0, 'no second referral was created');
    assert.equal(
      referrals()
        .list()
        .filter((r) => sameId(r.externalReferenceId, opportunityId)).length,
      1,
    );
  });

  test('with "How can Microsoft help?" set, runs the co-sell flow: two POSTs joined by engagementId, the second to msft', async () => {
    const opportunityId = await seller.createOpportunity({
      How_can_Microsoft_help__c: 'ProofOfConceptOrDemo',
    });
    const accountId = opportunity(system.sandboxes, opportunityId).AccountId as string;
    await seller.addPrimaryContact(opportunityId, accountId);
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });

    const referralId = await syncedReferralOf(opportunityId);
    const posts = referralWrites(system.sandboxes)
      .filter((w) => w.route.startsWith('POST'))
      .filter((w) =>
        sameId((w.body as { externalReferenceId?: string })?.externalReferenceId, opportunityId),
      );
    assert.equal(posts.length, 2, 'two POSTs');
    type CreateBody = {
      type: string;
      target: unknown;
      engagementId?: string;
      inviteContext: { assistanceRequestCode: string };
      customerProfile: { team: unknown };
    };
    const [first, second] = posts.map((p) => p.body as CreateBody);
    assert.equal(first.type, 'Shared');
    assert.deepEqual(first.target, [{ type: 'SolutionProfile', id: 'SOL-34104-EBB' }]);
    assert.equal(first.engagementId, undefined);
    assert.deepEqual(second.target, [{ type: 'BusinessProfileLocation', id: 'msft' }]);
    assert.equal(second.inviteContext.assistanceRequestCode, 'ProofOfConceptOrDemo');
    assert.deepEqual(first.customerProfile.team, [
      { firstName: 'Dana', lastName: 'Buyer', email: 'dana@fabrikam.example', phoneNumber: '5550199' },
    ]);

    const mine = referrals().get(referralId);
    assert.ok(mine?.engagementId, 'the referral is in an engagement');
    assert.equal(second.engagementId, mine.engagementId, 'the second POST joins the first one’s engagement');
    const engagement = referrals()
      .list()
      .filter((r) => r.engagementId === mine.engagementId);
    assert.equal(engagement.length, 2, 'the engagement holds the partner referral and the one for Microsoft');
    assert.equal(opportunity(system.sandboxes, opportunityId).Referral_Identifier__c, referralId);

    // Partner Center announces the referral for Microsoft too; it must not become an Opportunity.
    const twin = engagement.find((r) => r.id !== referralId);
    assert.ok(twin?.id);
    await waitFor(
      async () => (await system.relay.operations.listAudit({ referralId: twin.id as string })).length > 0,
      {
        message: 'the webhook for the referral for Microsoft to be processed',
      },
    );
    assert.equal(
      system.sandboxes.salesforce.store.findBy('Opportunity', 'Referral_Identifier__c', twin.id as string)
        .length,
      0,
    );
    assert.equal(
      system.sandboxes.salesforce.store.all('Opportunity').filter((o) => o.AccountId === accountId).length,
      1,
      'one Opportunity for the co-sell deal',
    );
  });
});

describe('outbound: validation', () => {
  test('an Opportunity Partner Center would refuse is marked Error with the reason on the record, and nothing is sent', async () => {
    await settled();
    const writesBefore = referralWrites(system.sandboxes).length;
    const badCountry = await seller.createOpportunity({}, { BillingCountry: 'United States' });
    const noSolution = await seller.createOpportunity({ Partner_Center_Solutions__c: null });
    const noContact = await seller.createOpportunity({ How_can_Microsoft_help__c: 'QuotesOrLicensing' });
    for (const id of [badCountry, noSolution, noContact])
      await seller.update(id, { Sync_with_Partner_Center__c: true });

    const errored = (id: string) =>
      waitFor(
        () =>
          opportunity(system.sandboxes, id).Referral_Sync_Status__c === 'Error'
            ? opportunity(system.sandboxes, id)
            : null,
        {
          message: `Opportunity ${id} marked Error`,
        },
      );
    assert.match(
      String((await errored(badCountry)).Audit__c),
      /ERROR.*BillingCountry "United States" is not an ISO 3166 two-letter country code/,
    );
    assert.match(String((await errored(noSolution)).Audit__c), /ERROR.*Partner_Center_Solutions__c is empty/);
    assert.match(
      String((await errored(noContact)).Audit__c),
      /ERROR.*How_can_Microsoft_help__c asks for Microsoft's help.*primary contact role/,
    );
    await settled();

    for (const id of [badCountry, noSolution, noContact]) {
      assert.equal(opportunity(system.sandboxes, id).Referral_Identifier__c ?? null, null);
      assert.equal(
        referrals()
          .list()
          .filter((r) => sameId(r.externalReferenceId, id)).length,
        0,
      );
    }
    assert.deepEqual(
      referralWrites(system.sandboxes).slice(writesBefore),
      [],
      'nothing sent to Partner Center',
    );
  });
});

describe('outbound: updates', () => {
  test('changing Amount PATCHes only /details/dealValue, with If-Match', async () => {
    const opportunityId = await seller.createOpportunity();
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
    const referralId = await syncedReferralOf(opportunityId);
    await settled();
    const eTag = referrals().get(referralId)?.eTag;

    await seller.update(opportunityId, { Amount: 135000 });
    const patch = await waitFor(
      () =>
        referralWrites(system.sandboxes, referralId).find(
          (w) => w.route.startsWith('PATCH') && w.status !== undefined,
        ),
      {
        message: 'the PATCH',
      },
    );
    assert.deepEqual(patch.body, [{ op: 'replace', path: '/details/dealValue', value: 135000 }]);
    assert.equal(patch.ifMatch, eTag);
    assert.equal(patch.status, 200);
    assert.equal((referrals().get(referralId)?.details as Record<string, unknown>).dealValue, 135000);
  });

  test('a referral that is final in Partner Center is never PATCHed; the record says so', async () => {
    const opportunityId = await seller.createOpportunity();
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
    const referralId = await syncedReferralOf(opportunityId);
    await settled();
    referrals().update(referralId, { status: 'Closed', substatus: 'Won' }, { force: true });
    // The inbound side brings Closed/Won over first; then the seller edits anyway.
    await waitFor(() => opportunity(system.sandboxes, opportunityId).Referral_Status__c === 'Closed', {
      message: 'the inbound status',
    });
    await settled();

    await seller.update(opportunityId, { Amount: 1 });
    const record = await waitFor(
      () => {
        const r = opportunity(system.sandboxes, opportunityId);
        return r.Referral_Sync_Status__c === 'Error' ? r : null;
      },
      { message: 'the record to report the final referral' },
    );
    assert.match(
      String(record.Audit__c),
      /Referral is Closed\/Won in Partner Center, which is final; changes are no longer sent/,
    );
    await settled();
    assert.equal(
      referralWrites(system.sandboxes, referralId).filter((w) => w.route.startsWith('PATCH')).length,
      0,
      'no PATCH',
    );
    assert.equal((referrals().get(referralId)?.details as Record<string, unknown>).dealValue, 120000);
  });
});

describe('outbound: a concurrent change in Partner Center', () => {
  test('a stale eTag (412) is resolved by the ownership rule: each side keeps what it owns, the loser is given the winner’s value and the audit says so', async () => {
    const opportunityId = await seller.createOpportunity();
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
    const referralId = await syncedReferralOf(opportunityId);
    await settled();
    const original = structuredClone(referrals().get(referralId)!);

    // Slow Partner Center down so the referral can change between the relay's GET and its PATCH.
    system.sandboxes.partnerCenter.faults.setLatency(300);
    try {
      await seller.update(opportunityId, { Amount: 200000 });
      await waitFor(
        () => referralWrites(system.sandboxes, referralId).some((w) => w.route.startsWith('PATCH')),
        { message: 'the first PATCH to arrive' },
      );
      // Microsoft edits the same referral meanwhile: the deal value (which the seller also changed;
      // the mapping makes Salesforce its owner) and the notes (changed only in Partner Center).
      referrals().update(referralId, {
        details: { dealValue: 999, notes: 'Customer asked for a 3-month pilot first' },
      });

      const patches = await waitFor(
        () => {
          const sent = referralWrites(system.sandboxes, referralId).filter((w) =>
            w.route.startsWith('PATCH'),
          );
          return sent.some((w) => w.status === 200) ? sent : null;
        },
        { message: 'a PATCH that succeeds after the 412' },
      );
      assert.equal(patches[0].status, 412, 'the first PATCH carried the stale eTag');
      assert.notEqual(patches.at(-1)!.ifMatch, patches[0].ifMatch, 'the retry carries the fresh eTag');
      assert.deepEqual(patches.at(-1)!.body, [{ op: 'replace', path: '/details/dealValue', value: 200000 }]);
    } finally {
      system.sandboxes.partnerCenter.faults.setLatency(0);
    }

    await waitFor(
      () => {
        const r = opportunity(system.sandboxes, opportunityId);
        return r.Description === 'Customer asked for a 3-month pilot first' &&
          r.Referral_Sync_Status__c === 'Synced'
          ? r
          : null;
      },
      { message: 'Partner Center’s notes written back to the Opportunity' },
    );
    await settled();
    const referral = referrals().get(referralId)!;
    const details = referral.details as Record<string, unknown>;
    assert.equal(details.dealValue, 200000, 'Salesforce owns the deal value');
    assert.equal(details.notes, 'Customer asked for a 3-month pilot first', 'Partner Center’s notes stay');
    assert.equal(opportunity(system.sandboxes, opportunityId).Amount, 200000);
    assert.equal(referral.name, original.name);
    assert.equal(referral.status, original.status);
    const audit = String(opportunity(system.sandboxes, opportunityId).Audit__c);
    assert.match(audit, /dealValue: salesforce kept/);
    assert.match(
      audit,
      /dealValue: salesforce kept \(changed on both sides[^;]*; the mapping makes salesforce its owner\); Partner Center value 999 replaced/,
      'the value Partner Center lost is in the audit',
    );
    assert.match(audit, /notes: partnerCenter kept/);
  });
});

describe('outbound: no echo', () => {
  test('one seller edit makes one Partner Center write and at most one Salesforce write-back, then nothing for 5 s', async () => {
    const opportunityId = await seller.createOpportunity();
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
    const referralId = await syncedReferralOf(opportunityId);
    await settled();

    const writes = recordWrites(system.sandboxes);
    try {
      const pcWritesBefore = referralWrites(system.sandboxes).length;
      await seller.update(opportunityId, { Description: 'Scope grew to three regions' });
      const sellerWrite = writes.all.length;
      await waitFor(
        () =>
          (referrals().get(referralId)?.details as Record<string, unknown>).notes ===
          'Scope grew to three regions',
        {
          message: 'the change in Partner Center',
        },
      );
      await settled();

      const relayWrites = writes.all
        .slice(sellerWrite)
        .filter((w) => w.userId.slice(0, 15) === DEFAULT_INTEGRATION_USER.id.slice(0, 15));
      assert.equal(
        writes.all.length - sellerWrite,
        relayWrites.length,
        'only the relay wrote after the seller',
      );
      assert.ok(relayWrites.length <= 1, `at most one write-back (saw ${relayWrites.length})`);
      const pcWrites = referralWrites(system.sandboxes).slice(pcWritesBefore);
      assert.equal(pcWrites.length, 1, 'one Partner Center write');
      assert.deepEqual(pcWrites[0].body, [
        { op: 'replace', path: '/details/notes', value: 'Scope grew to three regions' },
      ]);

      // The requirement itself is a quiet period: the relay's own writes (the write-back, the
      // webhook for its PATCH) must not start another round.
      const sfCalls = system.sandboxes.salesforce.counters().apiUsage.used;
      const pcCalls = system.sandboxes.partnerCenter.counters.totalApiCalls();
      const writesSoFar = writes.all.length;
      const events = system.sandboxes.pubsub.counters.eventsPublished;
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      assert.equal(writes.all.length, writesSoFar, 'no Salesforce write in 5 s');
      assert.equal(
        referralWrites(system.sandboxes).length,
        pcWritesBefore + 1,
        'no Partner Center write in 5 s',
      );
      assert.equal(system.sandboxes.pubsub.counters.eventsPublished, events, 'no Referral_Sync__e published');
      assert.equal(
        system.sandboxes.salesforce.counters().apiUsage.used,
        sfCalls,
        'no Salesforce API call at all',
      );
      assert.equal(
        system.sandboxes.partnerCenter.counters.totalApiCalls(),
        pcCalls,
        'no Partner Center API call at all',
      );
    } finally {
      writes.stop();
    }
  });

  test('a reconcile writes nothing to Opportunities already in sync: pairs made from Salesforce, co-sell or not, and one whose referral is final', async () => {
    const paired = async (values: Record<string, unknown>) => {
      const opportunityId = await seller.createOpportunity(values);
      // A co-sell referral needs the customer's contact.
      const accountId = opportunity(system.sandboxes, opportunityId).AccountId as string;
      await seller.addPrimaryContact(opportunityId, accountId);
      await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
      return { opportunityId, referralId: await syncedReferralOf(opportunityId) };
    };
    const plain = await paired({ Name: 'Reconciled plain pair' });
    const coSell = await paired({
      Name: 'Reconciled co-sell pair',
      How_can_Microsoft_help__c: 'ProofOfConceptOrDemo',
    });
    const final = await paired({ Name: 'Reconciled final pair' });
    await settled();
    referrals().update(final.referralId, { status: 'Closed', substatus: 'Won' }, { force: true });
    await waitFor(() => opportunity(system.sandboxes, final.opportunityId).Referral_Status__c === 'Closed', {
      message: 'the inbound status',
    });
    await settled();
    await seller.update(final.opportunityId, { Amount: 1 });
    await waitFor(
      () => opportunity(system.sandboxes, final.opportunityId).Referral_Sync_Status__c === 'Error',
      {
        message: 'the record to report the final referral',
      },
    );
    await settled();

    const ids = [plain, coSell, final].map((p) => p.opportunityId);
    const writes = recordWrites(system.sandboxes);
    try {
      const pcWritesBefore = referralWrites(system.sandboxes).length;
      const reconcileJob = await system.relay.operations.reconcile();
      // The reconcile job enqueues its syncs before it completes; settled() then waits for them.
      await waitFor(
        async () =>
          (
            await system.relay.database.pool.query('select 1 from graphile_worker.jobs where id = $1', [
              reconcileJob,
            ])
          ).rowCount === 0,
        { message: 'the reconcile job done' },
      );
      await settled();
      assert.deepEqual(
        writes.all.filter((w) => ids.some((id) => sameId(id, w.id))).map((w) => w.id),
        [],
        'no Salesforce write to these Opportunities after the reconcile',
      );
      assert.equal(referralWrites(system.sandboxes).length, pcWritesBefore, 'no Partner Center write');
    } finally {
      writes.stop();
    }
  });
});

describe('outbound: the event’s record snapshot', () => {
  const queries = () => system.sandboxes.salesforce.counters().byEndpoint.query ?? 0;
  const reads = (source: 'snapshot' | 'query') =>
    system.relay.metrics.value('cosell_outbound_record_reads_total', { source });

  test('a seller edit of a paired Opportunity is sent from the event, without querying the record', async () => {
    const opportunityId = await seller.createOpportunity();
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
    const referralId = await syncedReferralOf(opportunityId);
    await settled();
    const edit = async (amount: number) => {
      await seller.update(opportunityId, { Amount: amount });
      await waitFor(
        () => (referrals().get(referralId)?.details as Record<string, unknown>).dealValue === amount,
        { message: `Amount ${amount} in Partner Center` },
      );
      await settled();
    };
    // The pair was made from Salesforce: the first edit's job queries the record once, which tells
    // the relay how many of its own writes the record has had (store/dealWrites.ts).
    await edit(140000);
    const [queriesBefore, fromSnapshot] = [queries(), reads('snapshot')];

    await edit(141000);
    assert.equal(queries(), queriesBefore, 'no SOQL query');
    assert.equal(reads('snapshot'), fromSnapshot + 1);
    const record = opportunity(system.sandboxes, opportunityId);
    assert.equal(record.Referral_Sync_Status__c, 'Synced');
    assert.match(
      String(record.Audit__c).split('\n')[0],
      /INFO \| outbound \| Sent to Partner Center: \/details\/dealValue/,
    );
    assert.match(String(record.Audit__c), /Created Partner Center referral/, 'older lines stay below');
    assert.equal(record.Audit_Entry__c ?? null, null, 'the trigger moved the entry into the trail');
  });

  test('a pair made from Partner Center needs no query for its first seller edit either', async () => {
    const shared = referrals().createAsMicrosoft(
      sampleReferral({ name: 'Snapshot from the start', status: 'Active', substatus: 'Accepted' }),
    );
    const record = await waitFor(
      () =>
        system.sandboxes.salesforce.store
          .all('Opportunity')
          .find((o) => o.Referral_Identifier__c === shared.id && o.Referral_Sync_Status__c === 'Synced'),
      { message: 'the Opportunity for the shared referral' },
    );
    await settled();
    const [queriesBefore, fromSnapshot] = [queries(), reads('snapshot')];

    await seller.update(record.Id as string, { Description: 'Edited after the share' });
    await waitFor(
      () =>
        (referrals().get(shared.id)?.details as Record<string, unknown>).notes === 'Edited after the share',
      { message: 'the notes in Partner Center' },
    );
    await settled();
    assert.equal(queries(), queriesBefore, 'no SOQL query: the relay created the record and knows its count');
    assert.equal(reads('snapshot'), fromSnapshot + 1);
  });

  test('a snapshot taken before the relay’s own latest write is not used: the job queries and sends nothing stale', async () => {
    const opportunityId = await seller.createOpportunity();
    await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
    const referralId = await syncedReferralOf(opportunityId);
    await settled();
    // The record as a seller save would have published it now, with its relay write count.
    const stale = { ...opportunity(system.sandboxes, opportunityId) };

    // Then Partner Center changes the notes, and the relay writes them to the Opportunity.
    const referral = referrals().get(referralId)!;
    referrals().update(referralId, {
      details: { ...(referral.details as object), notes: 'Changed in Partner Center' },
    });
    await waitFor(
      () => opportunity(system.sandboxes, opportunityId).Description === 'Changed in Partner Center',
      {
        message: 'the inbound write',
      },
    );
    await settled();
    const pcWritesBefore = referralWrites(system.sandboxes, referralId).length;
    const [queriesBefore, fromQuery] = [queries(), reads('query')];

    // The older event's job runs only now.
    await enqueue(system.relay.database.pool, TASKS.opportunityChanged, { opportunityId, snapshot: stale });
    await settled();

    assert.equal(
      (referrals().get(referralId)?.details as Record<string, unknown>).notes,
      'Changed in Partner Center',
      'the old notes were not sent back',
    );
    assert.equal(reads('query'), fromQuery + 1, 'the job took the record from a query');
    assert.equal(queries(), queriesBefore + 1, 'one query');
    assert.equal(
      referralWrites(system.sandboxes, referralId).length,
      pcWritesBefore,
      'no Partner Center write',
    );
  });
});

describe('outbound: round trip', () => {
  test('a referral from Microsoft becomes an Opportunity; the seller’s Amount and Description come back and nothing else changes', async () => {
    const shared = referrals().createAsMicrosoft(sampleReferral({ name: 'Northwind round trip' }));
    const referralId = shared.id as string;
    const created = await waitFor(
      () => system.sandboxes.salesforce.store.findBy('Opportunity', 'Referral_Identifier__c', referralId)[0],
      {
        message: 'the Opportunity',
      },
    );
    await settled();
    // A referral Microsoft shared waits in the on-hold stage; changes made there do not sync
    // (contract §4.6). The seller accepts it by moving the stage on.
    assert.equal(created.StageName, 'Prospecting');
    await seller.update(created.Id as string, { StageName: 'Qualification' });
    await waitFor(() => referrals().get(referralId)?.status === 'Active', {
      message: 'the referral accepted',
    });
    await settled();
    const before = structuredClone(referrals().get(referralId)!);
    const pcWritesBefore = referralWrites(system.sandboxes, referralId).length;

    await seller.update(created.Id as string, {
      Amount: 64000,
      Description: 'Pilot for 260 seats, two sites',
    });
    await waitFor(
      () => (referrals().get(referralId)?.details as Record<string, unknown>).dealValue === 64000,
      {
        message: 'the seller’s Amount in Partner Center',
      },
    );
    await settled();

    const after = referrals().get(referralId)!;
    const patches = referralWrites(system.sandboxes, referralId).slice(pcWritesBefore);
    assert.equal(patches.length, 1, 'one PATCH');
    assert.deepEqual((patches[0].body as Array<{ path: string }>).map((op) => op.path).sort(), [
      '/details/dealValue',
      '/details/notes',
    ]);
    const withoutVersion = ({ eTag: _eTag, updatedDateTime: _updated, ...rest }: Record<string, unknown>) =>
      rest;
    const expected = withoutVersion(structuredClone(before));
    expected.details = {
      ...(before.details as object),
      dealValue: 64000,
      notes: 'Pilot for 260 seats, two sites',
    };
    assert.deepEqual(withoutVersion(after), expected, 'every other field unchanged');
    const record = opportunity(system.sandboxes, created.Id as string);
    assert.equal(record.Amount, 64000);
    assert.equal(record.Description, 'Pilot for 260 seats, two sites');
    assert.equal(record.Referral_Sync_Status__c, 'Synced');
  });
});
