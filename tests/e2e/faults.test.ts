import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { FailedJob } from '../../relay/src/store/queue.ts';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { opportunityWrites, waitForQueueIdle } from '../support/inboundChecks.ts';
import { waitFor } from '../support/waitFor.ts';

const GET_REFERRAL = 'GET /v1.0/engagements/referrals/{id}';
const ADMIN_TOKEN = 'fault-suite-admin-token';

/**
 * Transient faults from both services are absorbed with retries and backoff; a fault that outlasts
 * the job's attempts leaves a visible dead letter that can be retried once the fault is gone.
 * JOB_MAX_ATTEMPTS=2 keeps graphile-worker's exponential re-run delay (e^attempts s) to one step.
 */
describe('faults on the inbound path', () => {
  let system: TestSystem;
  const pc = () => system.sandboxes.partnerCenter;
  const sf = () => system.sandboxes.salesforce;
  const opportunityOf = (referralId: string) =>
    sf().store.findBy('Opportunity', 'Referral_Identifier__c', referralId)[0];
  const getsOf = (referralId: string) =>
    pc()
      .counters.requests()
      .filter((r) => r.route === GET_REFERRAL && r.referralId === referralId);

  before(async () => {
    system = await startTestSystem({
      env: { JOB_MAX_ATTEMPTS: '2', ADMIN_TOKEN, RECONCILE_CRON: '0 0 1 1 *' },
    });
  });
  after(() => system.stop());
  beforeEach(() => {
    pc().faults.reset();
    sf().clearFaults();
    sf().resetCounters();
  });

  it('waits out a 429 with Retry-After from Partner Center, then syncs', async () => {
    pc().faults.throttleNext(2, 1);
    const referral = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Throttled referral' }));
    const id = referral.id as string;
    await waitFor(() => opportunityOf(id), { message: 'the Opportunity' });

    const gets = getsOf(id);
    assert.deepEqual(
      gets.map((g) => g.status),
      [429, 429, 200],
    );
    for (let i = 1; i < gets.length; i++) {
      const gap = gets[i].at - gets[i - 1].at;
      assert.ok(gap >= 950, `retry ${i} came ${gap} ms after the 429; Retry-After said 1 s`);
    }
  });

  it('retries a 503 from Partner Center with backoff, then syncs', async () => {
    pc().faults.failNext(2);
    const referral = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Unavailable referral' }));
    const id = referral.id as string;
    await waitFor(() => opportunityOf(id), { message: 'the Opportunity' });
    const gets = getsOf(id);
    assert.deepEqual(
      gets.map((g) => g.status),
      [503, 503, 200],
    );
    // The harness's in-place backoff (20 ms base, half-to-full jitter) waits at least 10 ms, then at
    // least 20 ms. That no wait is shorter than the one before is proven without a clock in
    // relay/src/jobs/retry.test.ts: the gaps seen here also carry the machine's scheduling.
    assert.ok(gets[1].at - gets[0].at >= 10, `first retry after ${gets[1].at - gets[0].at} ms`);
    assert.ok(gets[2].at - gets[1].at >= 20, `second retry after ${gets[2].at - gets[1].at} ms`);
  });

  it('retries UNABLE_TO_LOCK_ROW from Salesforce, then writes the Opportunity once', async () => {
    // The customer's Account exists from the earlier tests, so every locked write is the Opportunity's.
    sf().setFaults({ lockNextWrites: 2 });
    const referral = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Locked row' }));
    const id = referral.id as string;
    const opportunity = await waitFor(() => opportunityOf(id), { message: 'the Opportunity' });
    await waitForQueueIdle(system.relay.database.pool);
    assert.equal(opportunity.Referral_Sync_Status__c, 'Synced');
    assert.equal(
      opportunityWrites(system.sandboxes).length,
      3,
      'two locked attempts and the write that went through',
    );
    assert.equal(sf().store.findBy('Opportunity', 'Referral_Identifier__c', id).length, 1);
  });

  it('keeps a job that ran out of attempts visible with its last error, and retrying it succeeds once the fault is gone', async () => {
    pc().faults.failNext(1000);
    const referral = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Dead letter' }));
    const id = referral.id as string;
    const failed = await waitFor(
      async () =>
        (await system.relay.operations.listFailedJobs(100)).find((j: FailedJob) => j.key === `pc:${id}`),
      { message: 'the dead letter', timeoutMs: 20_000 },
    );
    assert.equal(failed.task, 'inbound-referral-changed');
    assert.equal(failed.attempts, 2);
    assert.equal(failed.maxAttempts, 2);
    assert.match(failed.lastError ?? '', /503|unavailable/i);
    assert.equal(opportunityOf(id), undefined);
    // Each attempt retried in place (1 + 3 calls) before going back to the queue.
    assert.equal(getsOf(id).length, 8);

    // The admin API shows it too, behind the admin token.
    const unauthorized = await fetch(`${system.relay.url}/api/dead-letters`);
    assert.equal(unauthorized.status, 401);
    const listed = (await (
      await fetch(`${system.relay.url}/api/dead-letters`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json()) as { jobs: FailedJob[] };
    assert.ok(listed.jobs.some((j) => j.id === failed.id && /503|unavailable/i.test(j.lastError ?? '')));
    const link = await system.relay.database.pool.query(
      'select sync_status, last_error from cosell.links where referral_id = $1',
      [id],
    );
    assert.equal(link.rows[0]?.sync_status, 'Error');

    pc().faults.reset();
    const retried = await fetch(`${system.relay.url}/api/dead-letters/${failed.id}/retry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(retried.status, 200);
    const opportunity = await waitFor(() => opportunityOf(id), {
      message: 'the Opportunity after the retry',
    });
    assert.equal(opportunity.Referral_Sync_Status__c, 'Synced');
    assert.deepEqual(await system.relay.operations.listFailedJobs(100), []);
  });
});
