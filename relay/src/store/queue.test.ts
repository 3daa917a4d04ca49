import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { makeWorkerUtils } from 'graphile-worker';
import type { WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { createTestDatabase } from '../../../tests/support/postgres.ts';
import { silentLogger } from '../logger.ts';
import { migrate } from './migrate.ts';
import { readFile } from 'node:fs/promises';
import {
  enqueue,
  installQueueSchema,
  dropSupersededDeadJobs,
  releaseDeadWorkers,
  releaseOrphanedJobs,
  startQueueRunner,
  TASKS,
  withLegacyTaskNames,
} from './queue.ts';

/** A pid that belonged to a process on this host and no longer does. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid as number;
}

describe('releasing the jobs of dead workers', () => {
  let pool: pg.Pool;
  let utils: WorkerUtils;

  before(async () => {
    pool = new pg.Pool({ connectionString: await createTestDatabase('queue') });
    pool.on('error', () => undefined);
    await migrate(pool);
    await installQueueSchema(pool);
    utils = await makeWorkerUtils({ pgPool: pool });
  });
  after(async () => {
    await utils.release();
    await pool.end();
  });

  /** A job locked by `poolId`, whose pool row says `hostname`/`pid` and last beat `ageSeconds` ago. */
  const lockedJobOf = async (poolId: string, pid: number, ageSeconds: number): Promise<string> => {
    const id = await enqueue(
      pool,
      'inbound-referral-changed',
      { referralId: poolId },
      { jobKey: `pc:${poolId}` },
    );
    // What graphile-worker's get_job does when a worker of that pool takes the job.
    await pool.query(
      'update graphile_worker._private_jobs set locked_by = $2, locked_at = now(), attempts = 1 where id = $1',
      [id, poolId],
    );
    await pool.query(
      `insert into cosell.worker_pools (pool_id, worker_ids, hostname, pid, heartbeat_at)
       values ($1, '{}', $2, $3, now() - make_interval(secs => $4))`,
      [poolId, os.hostname(), pid, ageSeconds],
    );
    return id;
  };
  const isLocked = async (jobId: string) =>
    (
      await pool.query('select locked_at is not null as locked from graphile_worker.jobs where id = $1', [
        jobId,
      ])
    ).rows[0]?.locked as boolean;

  it('keeps the jobs of a pool with a fresh heartbeat locked even when its pid is not a process on this host', async () => {
    // Another container with the same hostname: its pid means nothing in this pid namespace.
    const job = await lockedJobOf('pool-same-hostname', await deadPid(), 1);
    const released = await releaseDeadWorkers(pool, utils, 30, silentLogger());
    assert.deepEqual(released, []);
    assert.equal(await isLocked(job), true);
    const { rows } = await pool.query('select 1 from cosell.worker_pools where pool_id = $1', [
      'pool-same-hostname',
    ]);
    assert.equal(rows.length, 1, 'the live pool stays recorded');
  });

  const exists = async (jobId: string) =>
    (await pool.query('select 1 from graphile_worker.jobs where id = $1', [jobId])).rows.length === 1;
  /** What graphile-worker's add_job does to a running job when the same key is added again. */
  const supersede = (jobId: string) =>
    pool.query('update graphile_worker._private_jobs set key = null, attempts = max_attempts where id = $1', [
      jobId,
    ]);
  const lockedAgo = (jobId: string, seconds: number) =>
    pool.query(
      'update graphile_worker._private_jobs set locked_at = now() - make_interval(secs => $2) where id = $1',
      [jobId, seconds],
    );

  it("deletes, rather than unlocks, a dead pool's job that was superseded while it ran", async () => {
    const superseded = await lockedJobOf('pool-dead-superseded', process.pid + 100_001, 120);
    await supersede(superseded);
    await releaseDeadWorkers(pool, utils, 30, silentLogger());
    assert.equal(await exists(superseded), false, "no dead letter left for the newer job's work");
  });

  it('unlocks jobs its own live pool holds but no worker runs, and leaves running ones locked', async () => {
    // A PostgreSQL restart while graphile-worker recorded their end left them locked by a live pool.
    const lost = await lockedJobOf('pool-live-own', process.pid, 0);
    const stillRunning = await enqueue(
      pool,
      'inbound-referral-changed',
      { referralId: 'r2' },
      { jobKey: 'pc:r2' },
    );
    const lostSuperseded = await enqueue(
      pool,
      'inbound-referral-changed',
      { referralId: 'r3' },
      { jobKey: 'pc:r3' },
    );
    const recent = await enqueue(pool, 'inbound-referral-changed', { referralId: 'r4' }, { jobKey: 'pc:r4' });
    for (const id of [stillRunning, lostSuperseded, recent])
      await pool.query(
        "update graphile_worker._private_jobs set locked_by = 'pool-live-own', locked_at = now(), attempts = 1 where id = $1",
        [id],
      );
    await supersede(lostSuperseded);
    for (const id of [lost, stillRunning, lostSuperseded]) await lockedAgo(id, 120);
    const released = await releaseOrphanedJobs(pool, ['pool-live-own'], [stillRunning], 30);
    assert.equal(released, 2);
    assert.equal(await isLocked(lost), false, 'back in the queue');
    assert.equal(await exists(lostSuperseded), false, 'superseded: deleted');
    assert.equal(await isLocked(stillRunning), true, 'a worker here still runs it');
    assert.equal(
      await isLocked(recent),
      true,
      'taken within the grace period: its end may still be recorded',
    );
    assert.equal(await releaseOrphanedJobs(pool, ['another-pool'], [], 30), 0);
  });

  it('deletes a superseded sync job that failed its one remaining attempt, and keeps a keyed dead letter', async () => {
    const superseded = await enqueue(
      pool,
      'inbound-referral-changed',
      { referralId: 'r5' },
      { jobKey: 'pc:r5' },
    );
    await supersede(superseded);
    const dead = await enqueue(pool, 'inbound-referral-changed', { referralId: 'r6' }, { jobKey: 'pc:r6' });
    await pool.query('update graphile_worker._private_jobs set attempts = max_attempts where id = $1', [
      dead,
    ]);
    assert.equal(await dropSupersededDeadJobs(pool), 1);
    assert.equal(await exists(superseded), false);
    assert.equal(await exists(dead), true, 'a real dead letter stays for the operator');
  });

  it('deletes a scheduled reconcile out of attempts once a later reconcile finished, and keeps a failed backfill', async () => {
    const failedRun = await enqueue(pool, 'reconcile', { _cron: { ts: '2026-12-03T06:33:00.000Z' } });
    const failedBackfill = await enqueue(pool, 'reconcile', { full: true });
    await pool.query(
      "update graphile_worker._private_jobs set attempts = max_attempts, created_at = now() - interval '5 minutes' where id = any($1)",
      [[failedRun, failedBackfill]],
    );
    assert.equal(await dropSupersededDeadJobs(pool), 0, 'no reconcile has finished since');
    assert.equal(await exists(failedRun), true);
    await pool.query(
      `insert into cosell.checkpoints (name, value) values ('reconcile:referrals', 'x')
       on conflict (name) do update set value = excluded.value, updated_at = now()`,
    );
    assert.equal(await dropSupersededDeadJobs(pool), 1);
    assert.equal(await exists(failedRun), false, 'the later run covered it');
    assert.equal(await exists(failedBackfill), true, 'a backfill covers more than a reconcile: it stays');
  });

  it('releases the jobs of a pool whose heartbeat is stale', async () => {
    const job = await lockedJobOf('pool-stale', process.pid + 100_000, 120);
    const released = await releaseDeadWorkers(pool, utils, 30, silentLogger());
    assert.deepEqual(released, ['pool-stale']);
    assert.equal(await isLocked(job), false);
  });
});

describe('the task names of earlier releases', () => {
  let pool: pg.Pool;

  before(async () => {
    pool = new pg.Pool({ connectionString: await createTestDatabase('legacy_tasks') });
    pool.on('error', () => undefined);
    await migrate(pool);
    await installQueueSchema(pool);
  });
  after(() => pool.end());

  it('still run: a job an older relay queued as pc-referral-changed reaches the inbound handler', async () => {
    const seen: unknown[] = [];
    let done: () => void = () => undefined;
    const ran = new Promise<void>((resolve) => (done = resolve));
    const queue = await startQueueRunner({
      pool,
      concurrency: 1,
      staleSeconds: 60,
      logger: silentLogger(),
      taskList: withLegacyTaskNames({
        [TASKS.referralChanged]: async (payload) => {
          seen.push(payload);
          done();
        },
      }),
    });
    try {
      await enqueue(pool, 'pc-referral-changed', { referralId: 'old-1' }, { jobKey: 'pc:old-1' });
      await ran;
      assert.deepEqual(seen, [{ referralId: 'old-1' }]);
    } finally {
      await queue.stop();
    }
  });

  it('are renamed in the dead letters by migration 000007, so a retry queues the current task', async () => {
    const insert = (id: number, task: string) =>
      pool.query(
        `insert into cosell.dead_letters (id, direction, record_id, task, payload, last_error, permanent, attempts, max_attempts)
         values ($1, 'inbound', $2, $3, '{}', 'x', false, 1, 1)`,
        [id, `r${id}`, task],
      );
    await insert(9001, 'pc-referral-changed');
    await insert(9002, 'sf-opportunity-changed');
    await insert(9003, 'reconcile');
    await pool.query(await readFile(new URL('../../sql/000007_task_names.sql', import.meta.url), 'utf8'));
    const { rows } = await pool.query<{ id: string; task: string }>(
      'select id, task from cosell.dead_letters where id between 9001 and 9003 order by id',
    );
    assert.deepEqual(
      rows.map((r) => r.task),
      [TASKS.referralChanged, TASKS.opportunityChanged, 'reconcile'],
    );
  });
});

describe("graphile-worker's private tables (written only by store/queue.ts)", () => {
  let pool: pg.Pool;
  before(async () => {
    pool = new pg.Pool({ connectionString: await createTestDatabase('private_tables') });
    pool.on('error', () => undefined);
    await installQueueSchema(pool);
  });
  after(() => pool.end());

  it('are the 0.18 ones queue.ts was written against: an upgrade fails here first', async () => {
    const { version } = JSON.parse(
      await readFile(new URL('../../../node_modules/graphile-worker/package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    assert.match(version, /^0\.18\./, 're-check every _private_ statement in store/queue.ts, then this pin');
    const { rows } = await pool.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns
        where table_schema = 'graphile_worker' and table_name in ('_private_jobs', '_private_tasks')`,
    );
    const columns = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
    for (const column of [
      '_private_jobs.id',
      '_private_jobs.task_id',
      '_private_jobs.key',
      '_private_jobs.payload',
      '_private_jobs.attempts',
      '_private_jobs.max_attempts',
      '_private_jobs.locked_at',
      '_private_jobs.locked_by',
      '_private_jobs.run_at',
      '_private_jobs.last_error',
      '_private_jobs.created_at',
      '_private_jobs.updated_at',
      '_private_tasks.id',
      '_private_tasks.identifier',
    ])
      assert.ok(columns.has(column), `graphile_worker.${column} exists`);
  });
});
