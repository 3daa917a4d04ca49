import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { BreakerStatus } from '../../relay/src/breaker.ts';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { waitForQueueIdle } from '../support/inboundChecks.ts';
import { opportunity, signInSeller } from '../support/seller.ts';
import type { Seller } from '../support/seller.ts';
import { waitFor } from '../support/waitFor.ts';

const GET_REFERRAL = 'GET /v1.0/engagements/referrals/{id}';
const ADMIN_TOKEN = 'ordering-suite-admin-token';

/**
 * Ordering and outages end to end: syncs of one record take turns across workers, no older state
 * overwrites a newer one in either direction, and an API-limit outage on either side pauses the
 * calls while the jobs wait, without spending attempts. JOB_MAX_ATTEMPTS=1 makes any attempt a job
 * spends visible at once as a dead letter; COALESCE_WINDOW_MS=0 lets a second change's job start at
 * once, so the only thing between two jobs of one record is the relay's serialisation. In-place
 * retries wait 0.75–1.5 s, long enough for another job to act in between.
 */
describe('ordering and outages', () => {
  let system: TestSystem;
  let seller: Seller;
  const pc = () => system.sandboxes.partnerCenter;
  const sf = () => system.sandboxes.salesforce;
  const pool = () => system.relay.database.pool;
  const opportunityOf = (referralId: string) =>
    sf().store.findBy('Opportunity', 'Referral_Identifier__c', referralId)[0];
  const getsOf = (referralId: string) =>
    pc()
      .counters.requests()
      .filter((r) => r.route === GET_REFERRAL && r.referralId === referralId);
  const deadLettersOf = async (field: 'referralId' | 'opportunityId', id: string) =>
    (await system.relay.operations.listFailedJobs(1000)).filter(
      (j) => (j.payload as Record<string, unknown> | null)?.[field] === id,
    );
  const breaker = async (name: string): Promise<BreakerStatus | undefined> =>
    (await system.relay.operations.status()).checks.breakers.open.find((b) => b.name === name);
  /** The breaker once it has let `probes` probes through (each one refused again). */
  const probedBreaker = async (name: string, probes: number): Promise<BreakerStatus | null> => {
    const status = await breaker(name);
    return status && status.probes >= probes ? status : null;
  };
  const auditHas = async (pattern: RegExp, where: { referralId?: string; opportunityId?: string }) =>
    (await system.relay.operations.listAudit({ ...where, limit: 100 })).some((e) => pattern.test(e.message));
  /** No job pending, waiting or running (a failed one is a dead letter and does not count). */
  const settled = async () => {
    await waitFor(
      () =>
        pc()
          .deliveries.list()
          .every((d) => d.state !== 'pending'),
      {
        message: 'webhook deliveries to finish',
      },
    );
    await waitFor(
      async () => {
        const { jobs } = await system.relay.operations.status();
        return jobs.queued === 0 && jobs.running === 0 && jobs.retrying === 0;
      },
      { message: 'the queue to drain', timeoutMs: 30_000 },
    );
  };
  /** Jobs for these keys that spent an attempt and are not running it now. */
  const spentAttempts = async (keys: string[]) =>
    (
      await pool().query<{ id: string }>(
        `select id from graphile_worker.jobs where key = any($1) and attempts > 0 and locked_at is null`,
        [keys],
      )
    ).rows;

  before(async () => {
    system = await startTestSystem({
      env: {
        JOB_MAX_ATTEMPTS: '1',
        COALESCE_WINDOW_MS: '0',
        BREAKER_PROBE_MS: '300',
        BREAKER_PROBE_MAX_MS: '1000',
        ADMIN_TOKEN,
        RECONCILE_CRON: '0 0 1 1 *',
      },
      retry: { retries: 1, baseDelayMs: 1500, maxDelayMs: 1500, maxRetryAfterMs: 5000 },
    });
    seller = await signInSeller(system.sandboxes);
  });
  after(() => system.stop());
  beforeEach(() => {
    pc().faults.reset();
    sf().clearFaults();
  });

  describe('serialisation and version guards (inbound)', () => {
    it('runs a change arriving while its referral’s job runs after that job, never beside it', async () => {
      pc().faults.setLatency(600);
      const id = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Serial v1' })).id as string;
      await waitFor(() => getsOf(id).length >= 1, { message: 'the first job’s GET' });
      pc().referrals.update(id, { name: 'Serial v2' });
      await waitFor(() => opportunityOf(id)?.Name === 'Serial v2', { message: 'the second change synced' });
      await settled();

      const gets = getsOf(id);
      assert.ok(gets.length >= 2, 'both changes were read');
      // Every GET takes 600 ms: the second job can only start once the first job's GET has answered.
      assert.ok(
        gets[1].at - gets[0].at >= 600,
        `the second job read the referral ${gets[1].at - gets[0].at} ms after the first, while it ran`,
      );
      assert.deepEqual(await deadLettersOf('referralId', id), []);
    });

    it('never lets an older referral read overwrite the newer one written while it retried', async () => {
      // The customer's Account exists from the test before, so the one locked write is the Opportunity's.
      sf().setFaults({ lockNextWrites: 1 });
      const id = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Older read v1' })).id as string;
      await waitFor(() => sf().controls.faults().lockNextWrites === 0, {
        message: 'the first job’s write refused (it retries in 0.75–1.5 s)',
      });
      pc().referrals.update(id, { name: 'Older read v2' });
      await waitFor(() => getsOf(id).length >= 2, { message: 'the second change read' });
      await settled();
      assert.equal(opportunityOf(id)?.Name, 'Older read v2');
    });

    it('never writes a referral older than the last one synced', async () => {
      const id = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Guarded v1' })).id as string;
      await waitFor(() => opportunityOf(id)?.Name === 'Guarded v1', { message: 'the first sync' });
      await settled();
      // A newer version than the one Partner Center is about to return has been synced (a stale read,
      // or the outbound job having moved the pair on).
      await pool().query(
        `update cosell.links set referral_updated_at = now() + interval '1 hour' where referral_id = $1`,
        [id],
      );
      const reads = getsOf(id).length;
      pc().referrals.update(id, { name: 'Guarded v2, older than the last synced' });
      await waitFor(() => getsOf(id).length > reads, { message: 'the change read' });
      await settled();
      assert.equal(opportunityOf(id)?.Name, 'Guarded v1');
      assert.ok(await auditHas(/older than the one last synced \(.*\); not written/, { referralId: id }));
    });
  });

  describe('serialisation and version guards (outbound)', () => {
    let opportunityId: string;
    let referralId: string;
    const dealValue = () =>
      (pc().referrals.get(referralId)?.details as { dealValue?: number } | undefined)?.dealValue;

    before(async () => {
      opportunityId = await seller.createOpportunity({ Name: 'Outbound ordering' });
      await seller.update(opportunityId, { Sync_with_Partner_Center__c: true });
      const record = await waitFor(
        () => {
          const r = opportunity(system.sandboxes, opportunityId);
          return r.Referral_Sync_Status__c === 'Synced' && typeof r.Referral_Identifier__c === 'string'
            ? r
            : null;
        },
        { message: 'the Opportunity paired' },
      );
      referralId = record.Referral_Identifier__c as string;
      await settled();
    });

    it('never lets an older seller edit whose job was throttled overwrite a newer one in Partner Center', async () => {
      // The older edit's job gets a 429 (Retry-After 1 s) on its first call and waits it out in place.
      pc().faults.throttleNext(1, 1);
      await seller.update(opportunityId, { Amount: 1000 });
      await waitFor(() => getsOf(referralId).some((g) => g.status === 429), {
        message: 'the older edit’s job throttled',
      });
      await seller.update(opportunityId, { Amount: 2000 });
      await waitFor(() => dealValue() === 2000, { message: 'the newer edit in Partner Center' });
      await settled();
      assert.equal(dealValue(), 2000);
      assert.deepEqual(await deadLettersOf('opportunityId', opportunityId), []);
    });

    it('never sends an Opportunity state older than the last one sent', async () => {
      // A newer state than the seller's next save has been sent (a redelivered event would look so).
      await pool().query(
        `update cosell.links set opportunity_version = now() + interval '1 hour' where opportunity_id = $1`,
        [opportunityId],
      );
      await seller.update(opportunityId, { Amount: 3000 });
      await waitFor(() => auditHas(/older than the one last sent \(.*\); not sent/, { opportunityId }), {
        message: 'the older state refused',
      });
      await settled();
      assert.equal(dealValue(), 2000);
    });

    it('runs a referral’s inbound job after its Opportunity’s outbound job, never beside it', async () => {
      await pool().query('update cosell.links set opportunity_version = null where opportunity_id = $1', [
        opportunityId,
      ]);
      // Every Partner Center call takes 400 ms: the outbound job is in its GET, then its PATCH.
      pc().faults.setLatency(400);
      const before = pc().counters.requests().length;
      await seller.update(opportunityId, { Amount: 4000 });
      await waitFor(
        () =>
          pc()
            .counters.requests()
            .slice(before)
            .some((r) => r.route === GET_REFERRAL && r.referralId === referralId),
        { message: 'the outbound job’s GET' },
      );
      pc().referrals.update(referralId, { name: 'Renamed by Microsoft' });
      await waitFor(() => dealValue() === 4000, { message: 'the seller’s edit in Partner Center' });
      await settled();
      const calls = pc()
        .counters.requests()
        .slice(before)
        .filter((r) => r.referralId === referralId)
        .map((r) => r.route.split(' ')[0]);
      // Outbound: GET, PATCH; inbound (the change, and the echo of the PATCH): GETs, only after the PATCH.
      assert.deepEqual(calls.slice(0, 2), ['GET', 'PATCH'], `calls in order: ${calls.join(', ')}`);
    });
  });

  it('does not show a job superseded while it ran as a dead letter when it fails', async () => {
    pc().faults.setLatency(300);
    pc().faults.failNext(1_000_000);
    const id = pc().referrals.createAsMicrosoft(sampleReferral({ name: 'Superseded v1' })).id as string;
    await waitFor(() => getsOf(id).length >= 1, { message: 'the first job running' });
    pc().referrals.update(id, { name: 'Superseded v2' });
    // Partner Center answers 503 throughout: both changes' jobs fail their only attempt.
    await waitFor(async () => (await deadLettersOf('referralId', id)).length > 0, {
      message: 'the dead letter',
    });
    await waitForQueueIdle(pool());
    const dead = await deadLettersOf('referralId', id);
    assert.equal(dead.length, 1, 'one dead letter for the referral');
    assert.equal(dead[0].key, `pc:${id}`, 'the newer job’s, which holds the record’s key');
    assert.ok(await auditHas(/superseded by a newer job/, { referralId: id }));
  });

  it('pauses Salesforce calls during a REQUEST_LIMIT_EXCEEDED outage; jobs wait without spending attempts and all sync after it', async () => {
    sf().setFaults({ limitNextCalls: 1_000_000 });
    const rejected = () =>
      Object.entries(sf().counters().byEndpoint)
        .filter(([endpoint]) => endpoint.endsWith('.rejected'))
        .reduce((sum, [, n]) => sum + n, 0);
    const rejectedBefore = rejected();
    const usedBefore = sf().counters().apiUsage.used;
    const ids = Array.from(
      { length: 5 },
      (_, i) => pc().referrals.createAsMicrosoft(sampleReferral({ name: `Limit outage ${i}` })).id as string,
    );
    await waitFor(() => breaker('salesforce'), { message: 'the Salesforce breaker to open' });
    const probing = await waitFor(() => probedBreaker('salesforce', 3), {
      message: 'three probes',
      timeoutMs: 20_000,
    });
    assert.match(probing.reason ?? '', /REQUEST_LIMIT_EXCEEDED/);
    const readyz = await fetch(`${system.relay.url}/readyz`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(readyz.status, 200, 'the relay stays ready: it still takes webhooks and events');
    assert.match(await readyz.text(), /salesforce calls paused until/);

    // While it lasts, Salesforce sees the calls that opened the breaker and the probes, nothing else.
    const calls = rejected() - rejectedBefore;
    const probes = (await breaker('salesforce'))?.probes ?? 0;
    assert.ok(calls <= probes + 3, `${calls} calls during the outage for ${probes} probes`);
    assert.equal(sf().counters().apiUsage.used, usedBefore, 'no call went through');
    assert.deepEqual(await spentAttempts(ids.map((id) => `pc:${id}`)), [], 'no job spent an attempt');
    for (const id of ids) assert.deepEqual(await deadLettersOf('referralId', id), []);

    sf().clearFaults();
    for (const id of ids)
      await waitFor(() => opportunityOf(id)?.Referral_Sync_Status__c === 'Synced', {
        message: `referral ${id} synced after the outage`,
        timeoutMs: 20_000,
      });
    await settled();
    assert.equal(await breaker('salesforce'), undefined, 'the breaker closed');
    for (const id of ids) assert.deepEqual(await deadLettersOf('referralId', id), []);
  });

  it('pauses Partner Center calls during a 429 storm; jobs wait without spending attempts and all sync after it', async () => {
    const t0 = Date.now();
    pc().faults.throttleNext(1_000_000, 1);
    const ids = Array.from(
      { length: 5 },
      (_, i) =>
        pc().referrals.createAsMicrosoft(sampleReferral({ name: `Throttle storm ${i}` })).id as string,
    );
    const probing = await waitFor(() => probedBreaker('partner-center', 3), {
      message: 'three probes',
      timeoutMs: 20_000,
    });
    assert.match(probing.reason ?? '', /429/);
    const stormCalls = pc()
      .counters.requests()
      .filter((r) => r.at >= t0).length;
    const probes = (await breaker('partner-center'))?.probes ?? 0;
    // One call per job before the first 429 came back, then the probes.
    assert.ok(
      stormCalls <= ids.length + probes + 1,
      `${stormCalls} calls during the storm for ${probes} probes`,
    );
    assert.deepEqual(await spentAttempts(ids.map((id) => `pc:${id}`)), [], 'no job spent an attempt');

    pc().faults.reset();
    for (const id of ids)
      await waitFor(() => opportunityOf(id)?.Referral_Sync_Status__c === 'Synced', {
        message: `referral ${id} synced after the storm`,
        timeoutMs: 20_000,
      });
    await settled();
    assert.equal(await breaker('partner-center'), undefined, 'the breaker closed');
    for (const id of ids) assert.deepEqual(await deadLettersOf('referralId', id), []);
  });
});
