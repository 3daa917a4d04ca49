import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import {
  captureDelivery,
  jobsForReferral,
  opportunityWrites,
  postDelivery,
  receiptsForReferral,
  referralIdOf,
  salesforceApiCalls,
  waitForQueueIdle,
  writtenRecords,
} from '../support/inboundChecks.ts';
import { waitFor } from '../support/waitFor.ts';
import { saveLink } from '../../relay/src/store/links.ts';

/**
 * Inbound sync end to end: the Partner Center sandbox signs and POSTs its webhooks to the relay's
 * HTTP endpoint, the relay's workers read the referral and write Opportunities into the
 * Salesforce sandbox. One system for the file; each test uses its own referrals.
 */
describe('inbound sync: Partner Center referral → Salesforce Opportunity', () => {
  let system: TestSystem;
  const sf = () => system.sandboxes.salesforce;
  const pc = () => system.sandboxes.partnerCenter;
  const pool = () => system.relay.database.pool;
  const opportunityOf = (referralId: string) =>
    sf().store.findBy('Opportunity', 'Referral_Identifier__c', referralId);

  before(async () => {
    system = await startTestSystem();
  });
  after(() => system.stop());
  beforeEach(() => sf().resetCounters());

  it('creates exactly one Opportunity with every mapped value and an Account matched by name and postal code', async () => {
    const referral = pc().referrals.createAsMicrosoft(
      sampleReferral({
        name: 'Fabrikam data estate',
        customerProfile: {
          name: 'Fabrikam Inc',
          address: {
            addressLine1: '5 Harbour Rd',
            city: 'Seattle',
            state: 'WA',
            postalCode: '98101',
            country: 'US',
          },
        },
        details: {
          notes: 'Migrate 40 TB',
          dealValue: 125000.5,
          currency: 'USD',
          closingDateTime: '2027-03-15T00:00:00Z',
          requirements: {
            solutions: [
              { id: 'SOL-34104-EBB', type: 'Name' },
              { id: 'SOL-1200-AZR', type: 'Name' },
            ],
          },
        },
        inviteContext: {
          assistanceRequestCode: 'CustomerTechnicalArchitecture',
          invitedBy: { organizationId: 'msft' },
        },
      }),
    );
    const id = referral.id as string;
    const opportunity = await waitFor(() => opportunityOf(id)[0], { message: 'the Opportunity' });
    await waitForQueueIdle(pool());

    assert.equal(opportunityOf(id).length, 1, 'exactly one Opportunity for the referral');
    assert.equal(opportunity.Name, 'Fabrikam data estate');
    assert.equal(opportunity.Amount, 125000.5);
    assert.equal(opportunity.CloseDate, '2027-03-15');
    assert.equal(opportunity.Description, 'Migrate 40 TB');
    assert.equal(opportunity.StageName, 'Prospecting', 'New/Pending is the mapping’s on-hold stage');
    assert.equal(opportunity.Referral_Status__c, 'New');
    assert.equal(opportunity.Referral_Substatus__c, 'Pending');
    assert.equal(
      opportunity.Referral_Link__c,
      `https://partner.microsoft.com/dashboard/referrals/v2/opportunities/${id}`,
    );
    assert.equal(opportunity.How_can_Microsoft_help__c, 'CustomerTechnicalArchitecture');
    assert.equal(opportunity.Partner_Center_Solutions__c, 'SOL-34104-EBB;SOL-1200-AZR');
    assert.equal(opportunity.Referral_Visibility__c, true);
    assert.equal(opportunity.Sync_with_Partner_Center__c, true);
    assert.equal(opportunity.Referral_Sync_Status__c, 'Synced');
    assert.match(String(opportunity.Audit__c), /Created from Partner Center referral/);

    const account = sf().store.get('Account', opportunity.AccountId as string);
    assert.ok(account, 'the Opportunity is linked to an Account');
    assert.equal(account.Name, 'Fabrikam Inc');
    assert.equal(account.BillingPostalCode, '98101');
    assert.equal(account.BillingCity, 'Seattle');

    const link = await pool().query(
      'select opportunity_id, sync_status from cosell.links where referral_id = $1',
      [id],
    );
    assert.deepEqual(link.rows, [{ opportunity_id: opportunity.Id, sync_status: 'Synced' }]);
    const audit = await pool().query(
      `select message from cosell.audit_events where referral_id = $1 and direction = 'inbound'`,
      [id],
    );
    assert.ok(
      audit.rows.some((r: { message: string }) => r.message.startsWith('Created from Partner Center')),
    );

    // A second referral of the same customer joins the same Account; the same name elsewhere is another customer.
    const second = pc().referrals.createAsMicrosoft(
      sampleReferral({
        name: 'Fabrikam copilots',
        customerProfile: {
          name: 'Fabrikam Inc',
          address: { postalCode: '98101', city: 'Seattle', country: 'US' },
        },
      }),
    );
    const elsewhere = pc().referrals.createAsMicrosoft(
      sampleReferral({
        name: 'Fabrikam EU',
        customerProfile: {
          name: 'Fabrikam Inc',
          address: { postalCode: '10115', city: 'Berlin', country: 'DE' },
        },
      }),
    );
    const [secondOpportunity, elsewhereOpportunity] = await waitFor(
      () => {
        const a = opportunityOf(second.id as string)[0];
        const b = opportunityOf(elsewhere.id as string)[0];
        return a && b ? [a, b] : undefined;
      },
      { message: 'the two further Opportunities' },
    );
    assert.equal(
      secondOpportunity.AccountId,
      opportunity.AccountId,
      'same name and postal code → the same Account',
    );
    assert.notEqual(
      elsewhereOpportunity.AccountId,
      opportunity.AccountId,
      'another postal code → another Account',
    );
    const fabrikams = sf()
      .store.all('Account')
      .filter((a) => a.Name === 'Fabrikam Inc');
    assert.equal(fabrikams.length, 2, 'no duplicate Account for the returning customer');
  });

  it('pairs a referral whose externalReferenceId names an existing Opportunity with it, creating none', async () => {
    const seller = sf().users.byUsername('seller@cosell-sync.sandbox');
    assert.ok(seller);
    const account = sf().store.insert('Account', { Name: 'Adatum', BillingPostalCode: '10115' }, seller.id);
    const existing = sf().store.insert(
      'Opportunity',
      {
        Name: 'Adatum expansion',
        AccountId: account.Id,
        StageName: 'Qualification',
        CloseDate: '2026-12-31',
      },
      seller.id,
    );
    const opportunitiesBefore = sf().store.all('Opportunity').length;
    const referral = pc().referrals.createAsMicrosoft(
      sampleReferral({ name: 'Adatum expansion', externalReferenceId: existing.Id }),
    );
    const paired = await waitFor(() => opportunityOf(referral.id as string)[0], { message: 'the pairing' });
    assert.equal(paired.Id, existing.Id);
    assert.equal(paired.AccountId, account.Id, 'the Opportunity keeps its Account');
    assert.equal(sf().store.all('Opportunity').length, opportunitiesBefore, 'no Opportunity was created');
  });

  it('pairs it too when the relay already keeps a link for that Opportunity alone (an earlier failed send)', async () => {
    const seller = sf().users.byUsername('seller@cosell-sync.sandbox');
    assert.ok(seller);
    const existing = sf().store.insert(
      'Opportunity',
      { Name: 'Litware pilot', StageName: 'Qualification', CloseDate: '2026-12-31' },
      seller.id,
    );
    // What the outbound job leaves when a seller's Opportunity cannot be sent yet.
    await saveLink(
      pool(),
      { opportunityId: existing.Id as string },
      { syncStatus: 'Error', lastError: 'Not sent to Partner Center: customer country missing' },
    );
    const referral = pc().referrals.createAsMicrosoft(
      sampleReferral({ name: 'Litware pilot', externalReferenceId: existing.Id }),
    );
    const id = referral.id as string;
    const paired = await waitFor(() => opportunityOf(id)[0], { message: 'the pairing' });
    await waitForQueueIdle(pool());
    assert.equal(paired.Id, existing.Id);
    const { rows } = await pool().query<{ referral_id: string | null; sync_status: string }>(
      'select referral_id, sync_status from cosell.links where opportunity_id = $1 or referral_id = $2',
      [existing.Id, id],
    );
    assert.deepEqual(rows, [{ referral_id: id, sync_status: 'Synced' }], 'one link holds the pair');
  });

  it('writes only the fields that differ when a referral changes', async () => {
    const referral = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Northwind upgrade' }));
    const id = referral.id as string;
    const created = await waitFor(() => opportunityOf(id)[0], { message: 'the Opportunity' });
    await waitForQueueIdle(pool());
    sf().resetCounters();

    pc().referrals.update(id, {
      details: { ...(referral.details as object), dealValue: 64000, notes: 'Now 300 seats' },
    });
    const updated = await waitFor(() => opportunityOf(id).find((o) => o.Amount === 64000), {
      message: 'the new Amount',
    });
    await waitForQueueIdle(pool());

    const writes = opportunityWrites(system.sandboxes);
    assert.equal(writes.length, 1, 'one write call');
    const [record] = writtenRecords(writes[0]);
    // jsforce sends the record id as `id` in collections updates.
    assert.deepEqual(
      Object.keys(record)
        .map((k) => (k.toLowerCase() === 'id' ? 'Id' : k))
        .sort(),
      ['Amount', 'Audit_Entry__c', 'Description', 'Id', 'Referral_Sync_Status__c'],
      'only the changed fields, plus the relay’s status and audit',
    );
    assert.equal(record.Id ?? record.id, created.Id);
    assert.equal(record.Description, 'Now 300 seats');
    assert.match(String(updated.Audit__c), /Updated from Partner Center: Amount, Description/);
    for (const unchanged of [
      'Name',
      'CloseDate',
      'StageName',
      'AccountId',
      'How_can_Microsoft_help__c',
      'Partner_Center_Solutions__c',
    ]) {
      assert.deepEqual(updated[unchanged], created[unchanged], `${unchanged} kept`);
    }
    assert.equal(opportunityOf(id).length, 1);
  });

  it('turns the same delivery sent five times into one Opportunity and one Salesforce write', async () => {
    // The customer's Account already exists, so the one write is the Opportunity's.
    const delivery = captureDelivery(system.sandboxes, () =>
      pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Tailspin rollout' })),
    );
    const id = referralIdOf(delivery);
    const answers = [];
    for (let i = 0; i < 5; i++)
      answers.push(await postDelivery(system.relay.url, delivery.body, delivery.headers));
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.status]),
      [[200, 'accepted'], ...Array.from({ length: 4 }, () => [200, 'duplicate'])],
    );
    await waitFor(() => opportunityOf(id)[0], { message: 'the Opportunity' });
    await waitForQueueIdle(pool());
    // Redelivered concurrently too, after the sync: still nothing new.
    await Promise.all(
      Array.from({ length: 5 }, () => postDelivery(system.relay.url, delivery.body, delivery.headers)),
    );
    await waitForQueueIdle(pool());

    assert.equal(opportunityOf(id).length, 1);
    assert.equal(opportunityWrites(system.sandboxes).length, 1, 'one Opportunity write');
    assert.equal(await receiptsForReferral(pool(), id), 1);
  });

  it('coalesces a burst of 50 updates to one referral into at most 3 Salesforce write calls', async () => {
    const referral = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Burst test' }));
    const id = referral.id as string;
    await waitFor(() => opportunityOf(id)[0], { message: 'the Opportunity' });
    await waitForQueueIdle(pool());
    sf().resetCounters();
    const deliveriesBefore = pc().deliveries.list().length;

    for (let i = 1; i <= 50; i++) {
      pc().referrals.update(id, {
        details: { ...(referral.details as object), notes: `revision ${i}`, dealValue: 50000 + i },
      });
    }
    await waitFor(
      () =>
        pc()
          .deliveries.list()
          .slice(deliveriesBefore)
          .filter((d) => d.state === 'delivered').length === 50,
      {
        message: '50 acknowledged deliveries',
      },
    );
    const final = await waitFor(() => opportunityOf(id).find((o) => o.Description === 'revision 50'), {
      message: 'the last revision',
    });
    await waitForQueueIdle(pool());

    assert.equal(final.Amount, 50050);
    const writes = opportunityWrites(system.sandboxes).length;
    assert.ok(writes >= 1 && writes <= 3, `expected 1–3 Opportunity writes, got ${writes}`);
    assert.ok(
      salesforceApiCalls(system.sandboxes) <= 6,
      `reads and writes together stay few: ${salesforceApiCalls(system.sandboxes)}`,
    );
  });

  it('makes no Salesforce call for an update whose mapped values equal what was last synced', async () => {
    const referral = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Echo test' }));
    const id = referral.id as string;
    await waitFor(() => opportunityOf(id)[0], { message: 'the Opportunity' });
    await waitForQueueIdle(pool());
    sf().resetCounters();

    // Only the customer's contact changes: no mapped field does.
    const changed = pc().referrals.update(id, {
      customerProfile: {
        ...(referral.customerProfile as object),
        team: [{ firstName: 'Ann', lastName: 'Lee', email: 'ann@contoso.com', phoneNumber: '5550199' }],
      },
    });
    await waitFor(
      async () => {
        const { rows } = await pool().query<{ referral_etag: string }>(
          'select referral_etag from cosell.links where referral_id = $1',
          [id],
        );
        return rows[0]?.referral_etag === changed.eTag;
      },
      { message: 'the relay to have processed the update' },
    );
    await waitForQueueIdle(pool());
    assert.equal(await jobsForReferral(pool(), id), 0);
    assert.deepEqual(sf().counters().byEndpoint, {}, 'no Salesforce request at all');
    assert.equal(salesforceApiCalls(system.sandboxes), 0);
  });
});
