import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { postDelivery, waitForQueueIdle } from '../support/inboundChecks.ts';
import { signInSeller } from '../support/seller.ts';
import type { Seller } from '../support/seller.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * Issue 8's must-shows over real sockets: referrals of the shapes real Partner Center responses
 * carry become exactly one Opportunity each, saying on the record what was defaulted or
 * truncated; a record Salesforce refuses ends as one dead letter with the reason on the record,
 * however often it is re-run; and the outcome of a referral never depends on which of its
 * events won the job.
 */
const ACTIVE = { status: 'Active', substatus: 'Accepted' };

describe('real referrals: defaults, fitting, permanent errors, event order', () => {
  let system: TestSystem;
  let seller: Seller;
  const pc = () => system.sandboxes.partnerCenter;
  const sf = () => system.sandboxes.salesforce;
  const pool = () => system.relay.database.pool;
  const opportunitiesOf = (referralId: string) =>
    sf().store.findBy('Opportunity', 'Referral_Identifier__c', referralId);
  const synced = (referralId: string, message: string) =>
    waitFor(
      () => {
        const [opportunity] = opportunitiesOf(referralId);
        return opportunity?.Referral_Sync_Status__c === 'Synced' ? opportunity : undefined;
      },
      { message },
    );
  const deadLetters = async (referralId: string) =>
    (
      await pool().query<{
        id: string;
        failures: number;
        closed_at: Date | null;
        closed_reason: string | null;
        attempts: number;
        last_error: string;
      }>(
        `select id, failures, closed_at, closed_reason, attempts, last_error from cosell.dead_letters
          where direction = 'inbound' and record_id = $1 order by id`,
        [referralId],
      )
    ).rows;

  before(async () => {
    // The scheduled reconcile stays out of the way: the test runs its own.
    system = await startTestSystem({ env: { RECONCILE_CRON: '0 0 1 1 *', JOB_MAX_ATTEMPTS: '5' } });
    seller = await signInSeller(system.sandboxes);
  });
  after(() => system.stop());

  it('makes one Opportunity of a referral without a closing date, says the close date was defaulted, replaces it with the real one later and never sends the default back', async () => {
    const { details } = sampleReferral() as { details: Record<string, unknown> };
    const { closingDateTime: _none, ...withoutDate } = details;
    const referral = pc().referrals.createAsMicrosoft(
      sampleReferral({ ...ACTIVE, name: 'No closing date yet', details: withoutDate }),
    );
    const id = referral.id as string;
    const opportunity = await synced(id, 'the Opportunity of the referral without a closing date');
    const created = new Date(referral.createdDateTime as string);
    const expected = new Date(
      Date.UTC(created.getUTCFullYear(), created.getUTCMonth(), created.getUTCDate() + 90),
    )
      .toISOString()
      .slice(0, 10);
    assert.equal(opportunity.CloseDate, expected);
    assert.match(
      String(opportunity.Audit__c),
      new RegExp(`CloseDate defaulted to "${expected}" \\(createdDateTime \\+ 90 days\\)`),
    );
    await waitForQueueIdle(pool());
    assert.equal(opportunitiesOf(id).length, 1);

    // A seller's edit of another field goes out without the defaulted close date.
    await seller.update(opportunity.Id as string, { Amount: 61000 });
    await waitFor(() => (pc().referrals.get(id)?.details as Record<string, unknown>).dealValue === 61000, {
      message: "the seller's amount in Partner Center",
    });
    assert.equal((pc().referrals.get(id)?.details as Record<string, unknown>).closingDateTime ?? null, null);

    // Partner Center's own closing date replaces the default.
    pc().referrals.update(id, { details: { closingDateTime: '2027-06-30T00:00:00Z' } });
    await waitFor(() => opportunitiesOf(id)[0]?.CloseDate === '2027-06-30', {
      message: 'the real closing date',
    });
    assert.equal(opportunitiesOf(id).length, 1);
  });

  it('makes one Opportunity of a referral with a 300-character name, says it was truncated, and keeps the full name in Partner Center', async () => {
    const name = `${'Contoso global rollout '.repeat(13)}`.slice(0, 299) + '😀';
    const referral = pc().referrals.createAsMicrosoft(sampleReferral({ ...ACTIVE, name }));
    const id = referral.id as string;
    const opportunity = await synced(id, 'the Opportunity of the long-named referral');
    assert.equal(opportunity.Name, name.slice(0, 120));
    assert.match(String(opportunity.Audit__c), /Name truncated from 300 to 120 characters/);
    await waitForQueueIdle(pool());
    assert.equal(opportunitiesOf(id).length, 1);

    await seller.update(opportunity.Id as string, { Description: 'Seller notes' });
    await waitFor(
      () => (pc().referrals.get(id)?.details as Record<string, unknown>).notes === 'Seller notes',
      {
        message: "the seller's notes in Partner Center",
      },
    );
    assert.equal(pc().referrals.get(id)?.name, name, 'the truncated name is not sent back');
  });

  it('makes one Opportunity of a referral whose customerProfile.team is a single object, with nulls and unknown fields, and leaves that shape alone in Partner Center', async () => {
    // A public capture shows team as one member object (UNCONFIRMED whether the API or the
    // capturing script did that); empty strings, nulls and fields the docs omit come with it.
    const base = sampleReferral() as { customerProfile: Record<string, unknown> };
    const member = { firstName: 'Sue', lastName: 'Smith', email: 'sue@contoso.com', phoneNumber: null };
    const referral = pc().referrals.createAsMicrosoft(
      sampleReferral({
        ...ACTIVE,
        name: 'Team as one object',
        customerProfile: { ...base.customerProfile, team: member, size: '', ids: null },
        partnerInsights: { capturedOnly: true },
      }),
    );
    const id = referral.id as string;
    const stored = pc().referrals.get(id) as unknown as {
      customerProfile: { team: unknown };
      partnerInsights?: unknown;
    };
    assert.deepEqual(stored.customerProfile.team, member, 'the sandbox keeps the single-object shape');
    assert.deepEqual(stored.partnerInsights, { capturedOnly: true }, 'and the unknown field');
    const opportunity = await synced(id, 'the Opportunity of the referral with a single-object team');
    assert.equal(opportunity.Name, 'Team as one object');
    assert.match(String(opportunity.Audit__c), /\S/, 'the audit line says what the relay wrote');
    await waitForQueueIdle(pool());
    assert.equal(opportunitiesOf(id).length, 1);

    await seller.update(opportunity.Id as string, { Description: 'Team notes' });
    await waitFor(() => (pc().referrals.get(id)?.details as Record<string, unknown>).notes === 'Team notes', {
      message: "the seller's notes in Partner Center",
    });
    const after = pc().referrals.get(id) as unknown as { customerProfile: { team: unknown } };
    assert.deepEqual(after.customerProfile.team, member, 'the outbound PATCH leaves the team as it was');
    assert.equal(opportunitiesOf(id).length, 1);
  });

  it('shows a validation rule refusal as Error with the rule message after one attempt, keeps one dead letter through ten reconciles, and closes it once the data is fixed', async () => {
    const referral = pc().referrals.createAsMicrosoft(sampleReferral({ ...ACTIVE, name: 'Needs approval' }));
    const id = referral.id as string;
    const opportunity = await synced(id, 'the Opportunity before the rule');
    const rule = 'Amounts above 1,000,000 need finance approval';
    sf().controls.addValidationRule({
      name: 'Amount_Needs_Approval',
      message: rule,
      recordIds: [opportunity.Id as string],
      changed: ['Amount'],
      errorField: 'Amount',
    });

    pc().referrals.update(id, { details: { dealValue: 2_000_000 } });
    const [letter] = await waitFor(
      async () => {
        const letters = await deadLetters(id);
        return letters.length > 0 ? letters : undefined;
      },
      { message: 'the dead letter' },
    );
    assert.equal(letter.attempts, 1, 'a permanent error ends the job after its first attempt');
    assert.match(letter.last_error, /FIELD_CUSTOM_VALIDATION_EXCEPTION/);
    assert.ok(letter.last_error.includes(rule));
    const refused = await waitFor(
      () => {
        const current = opportunitiesOf(id)[0];
        return current?.Referral_Sync_Status__c === 'Error' ? current : undefined;
      },
      { message: 'Error on the record' },
    );
    assert.ok(
      String(refused.Audit__c).split('\n')[0].includes(rule),
      'the newest audit line carries the rule message',
    );
    assert.equal(refused.Amount, 50000);
    const listed = await system.relay.operations.listFailedJobs(100);
    assert.equal(listed.filter((job) => job.key === `pc:${id}`).length, 1, 'the dashboard lists it once');

    for (let run = 1; run <= 10; run++) {
      const before = (await deadLetters(id))[0].failures;
      await system.relay.operations.reconcile();
      await waitFor(async () => (await deadLetters(id))[0].failures > before, {
        message: `reconcile ${run} to re-run the referral`,
      });
    }
    const letters = await deadLetters(id);
    assert.equal(letters.length, 1, 'still exactly one dead letter');
    assert.equal(letters[0].failures, 11);
    assert.equal(letters[0].closed_at, null);
    const failedJobs = await pool().query(
      `select count(*)::int as n from graphile_worker.jobs where key = $1 and attempts >= max_attempts`,
      [`pc:${id}`],
    );
    assert.equal(failedJobs.rows[0].n, 0, 'no failed graphile-worker job besides it');
    assert.equal(
      (pc().referrals.get(id)?.details as Record<string, unknown>).dealValue,
      2_000_000,
      'Partner Center keeps its value',
    );
    assert.equal(
      String(opportunitiesOf(id)[0].Audit__c)
        .split('\n')
        .filter((line) => line.includes(rule)).length,
      1,
      'the record says it once, not on every re-run',
    );

    // The admin approves: the rule is switched off, and the next sync goes through.
    sf().controls.removeValidationRule('Amount_Needs_Approval');
    await system.relay.operations.reconcile();
    const fixed = await waitFor(
      () => {
        const current = opportunitiesOf(id)[0];
        return current?.Amount === 2_000_000 && current.Referral_Sync_Status__c === 'Synced'
          ? current
          : undefined;
      },
      { message: 'the sync after the fix' },
    );
    assert.equal(fixed.Amount, 2_000_000);
    const closed = await waitFor(
      async () => {
        const [only] = await deadLetters(id);
        return only.closed_at !== null ? only : undefined;
      },
      { message: 'the dead letter to close' },
    );
    assert.equal(closed.closed_reason, 'synced');
    assert.equal(
      (await system.relay.operations.listFailedJobs(100)).filter((job) => job.key === `pc:${id}`).length,
      0,
    );
  });

  it('gives a referral announced by referral-created and related-referral-created the same outcome in either order', async () => {
    const outcomes: string[] = [];
    for (const order of [
      ['referral-created', 'related-referral-created'],
      ['related-referral-created', 'referral-created'],
    ]) {
      // The engagement's first referral is one the relay never hears of (another party's side).
      pc().faults.loseNextDeliveries(1);
      const first = pc().referrals.createAsMicrosoft(
        sampleReferral({ ...ACTIVE, name: `Other side ${order[0]}` }),
      );
      const before = pc().deliveries.list().length;
      pc().faults.loseNextDeliveries(2);
      const second = pc().referrals.createAsMicrosoft(
        sampleReferral({ ...ACTIVE, name: `Ours ${order[0]}`, engagementId: first.engagementId }),
      );
      const captured = pc().deliveries.list().slice(before);
      assert.deepEqual(captured.map((d) => d.eventName).sort(), [
        'referral-created',
        'related-referral-created',
      ]);
      const byName = new Map(captured.map((d) => [d.eventName, d]));
      // Both within the coalescing window: sent back to back, the second joins the first's job.
      const answers = [];
      for (const name of order) {
        const delivery = byName.get(name)!;
        answers.push(await postDelivery(system.relay.url, delivery.body, delivery.headers));
      }
      assert.deepEqual(
        answers.map((a) => a.status),
        [200, 200],
      );
      const id = second.id as string;
      await synced(id, `the Opportunity with ${order.join(' then ')}`);
      await waitForQueueIdle(pool());
      const audit = await system.relay.operations.listAudit({ referralId: id });
      assert.ok(!audit.some((event) => /ignored/i.test(event.message)), 'never ignored as related');
      outcomes.push(
        `${opportunitiesOf(id).length} Opportunity, ${opportunitiesOf(first.id as string).length} for the other side`,
      );
    }
    assert.deepEqual(outcomes, [
      '1 Opportunity, 0 for the other side',
      '1 Opportunity, 0 for the other side',
    ]);
  });
});
