import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { Sandboxes } from '../../relay/sandbox/index.ts';
import { sampleReferral } from '../support/relayHarness.ts';
import { spawnRelay, startProductionFixture } from '../support/relayProcess.ts';
import type { ProductionFixture, RelayProcess } from '../support/relayProcess.ts';
import { waitFor } from '../support/waitFor.ts';

const GET_REFERRAL = 'GET /v1.0/engagements/referrals/{id}';

/**
 * The relay as a production child process (COSELL_MODE=production, only URLs and credentials
 * pointing at the sandboxes), killed with SIGKILL after it acknowledged a delivery and while the
 * job was running. Partner Center will never resend an acknowledged delivery, so the job in
 * Postgres is the only copy: the restarted relay must release the dead worker's lock and finish it.
 */
describe('a relay killed with SIGKILL loses nothing', () => {
  let fixture: ProductionFixture;
  let sandboxes: Sandboxes;
  let db: pg.Pool;
  let env: Record<string, string>;
  let relay: RelayProcess | undefined;
  const opportunityOf = (referralId: string) => fixture.opportunityOf(referralId);

  before(async () => {
    fixture = await startProductionFixture('recovery');
    ({ sandboxes, db, env } = fixture);
  });
  after(async () => {
    relay?.kill('SIGKILL');
    await relay?.exited;
    await fixture.dispose();
  });

  it('runs the production code path against the sandboxes with only URLs and credentials changed', async () => {
    relay = spawnRelay(env);
    await relay.ready();
    const referral = sandboxes.partnerCenter.referrals.createAsMicrosoft(
      sampleReferral({ name: 'Production path' }),
    );
    const opportunity = await waitFor(() => opportunityOf(referral.id as string), {
      message: 'the Opportunity written by the child relay',
    });
    assert.equal(opportunity.Name, 'Production path');
    assert.equal(opportunity.Referral_Sync_Status__c, 'Synced');
  });

  it('writes the Opportunity after a restart when killed between the 200 and the Salesforce write', async () => {
    assert.ok(relay, 'the relay from the previous test is running');
    // Every Partner Center call now takes 2.5 s: the job will sit in its GET when the kill lands.
    sandboxes.partnerCenter.faults.setLatency(2500);
    const referral = sandboxes.partnerCenter.referrals.createAsMicrosoft(
      sampleReferral({ name: 'Survives kill -9' }),
    );
    const id = referral.id as string;
    await waitFor(
      () => {
        const delivery = sandboxes.partnerCenter.deliveries.list().find((d) => d.resourceUri.endsWith(id));
        const acknowledged = delivery?.attempts.some((a) => a.status === 200);
        const working = sandboxes.partnerCenter.counters
          .requests()
          .some((r) => r.route === GET_REFERRAL && r.referralId === id);
        return acknowledged && working;
      },
      { message: 'the delivery acknowledged and its job running' },
    );
    relay.kill('SIGKILL');
    assert.equal((await relay.exited).signal, 'SIGKILL');
    sandboxes.partnerCenter.faults.setLatency(0);

    assert.equal(opportunityOf(id), undefined, 'nothing was written before the kill');
    const { rows } = await db.query<{ locked: boolean }>(
      'select locked_at is not null as locked from graphile_worker.jobs where key = $1',
      [`pc:${id}`],
    );
    assert.deepEqual(rows, [{ locked: true }], 'the job is still locked by the dead worker');
    const delivery = sandboxes.partnerCenter.deliveries.list().find((d) => d.resourceUri.endsWith(id));
    assert.equal(
      delivery?.state,
      'delivered',
      'Partner Center considers it delivered and will not resend it',
    );

    const restartedAt = Date.now();
    relay = spawnRelay(env);
    await relay.ready();
    const opportunity = await waitFor(() => opportunityOf(id), {
      message: 'the Opportunity after the restart',
      timeoutMs: 10_000,
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n--- restarted relay ---\n${relay?.output()}`, { cause: error });
    });
    assert.equal(opportunity.Name, 'Survives kill -9');
    assert.ok(
      Date.now() - restartedAt < 10_000,
      'written within seconds of the restart, not after a lock timeout',
    );
    assert.match(relay.output(), /released jobs locked by dead workers/);
    const pools = await db.query<{ pid: number }>('select pid from cosell.worker_pools');
    assert.ok(
      pools.rows.every((p) => p.pid === relay!.child.pid),
      'the dead pool is forgotten',
    );
  });
});
