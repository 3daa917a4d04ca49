import { EventEmitter } from 'node:events';
import os from 'node:os';
import { Logger as WorkerLogger, makeWorkerUtils, parseCrontab, run, runMigrations } from 'graphile-worker';
import type { Runner, TaskList, WorkerEvents, WorkerUtils } from 'graphile-worker';
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import type { Queryable } from './transaction.ts';

/** Task names; one file per task in jobs/. */
export const TASKS = {
  referralChanged: 'inbound-referral-changed',
  opportunityChanged: 'outbound-deal-changed',
  undecodableEvent: 'outbound-event-undecodable',
  reconcile: 'reconcile',
  prune: 'prune',
  notificationSend: 'notification-send',
  notificationExpiry: 'notification-expiry',
} as const;

/**
 * The task names of earlier releases → today's. Jobs queued by an older relay (or by one still running in a
 * rolling deploy) carry them, so the worker runs them under both names; migration 000007 renames
 * the dead letters.
 */
export const LEGACY_TASKS: Readonly<Record<string, string>> = {
  'pc-referral-changed': TASKS.referralChanged,
  'sf-opportunity-changed': TASKS.opportunityChanged,
  'sf-event-undecodable': TASKS.undecodableEvent,
};

/** `taskList` with each handler also under the task's older names. */
export function withLegacyTaskNames<T>(taskList: Record<string, T>): Record<string, T> {
  const aliases = Object.entries(LEGACY_TASKS).flatMap(([old, current]) =>
    taskList[current] === undefined ? [] : [[old, taskList[current]] as const],
  );
  return { ...taskList, ...Object.fromEntries(aliases) };
}

export interface EnqueueOptions {
  jobKey?: string;
  maxAttempts?: number;
  runAt?: Date;
  priority?: number;
  /**
   * 'replace' (default) moves a pending job's run_at to the new one; 'preserve_run_at' keeps it,
   * so a burst scheduled into one window stays one job however long the burst goes on.
   */
  keyMode?: 'replace' | 'preserve_run_at';
}

/**
 * Adds a job through graphile-worker's SQL API so it joins the caller's transaction: a webhook's
 * receipt and its job, or a Pub/Sub batch's jobs and its replay id, commit together or not at all.
 * A job key makes later changes to one record join its pending job ('preserve_run_at' keeps the
 * time coalesceRunAt chose; 'replace' moves it).
 */
export async function enqueue(
  db: Queryable,
  task: string,
  payload: unknown,
  options: EnqueueOptions = {},
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `select id from graphile_worker.add_job($1, $2::json, run_at => $3, max_attempts => $4, job_key => $5, priority => $6, job_key_mode => $7)`,
    [
      task,
      JSON.stringify(payload),
      options.runAt ?? null,
      options.maxAttempts ?? null,
      options.jobKey ?? null,
      options.priority ?? null,
      options.keyMode ?? 'replace',
    ],
  );
  return String(rows[0].id);
}

/**
 * When the job for a record should run so that a burst of changes to one record costs at most a
 * few syncs: an isolated change runs at once (leading edge); a change arriving while that record's
 * job runs, or within `windowMs` of its last sync, is deferred to the end of the window, where
 * every further change in the burst joins the same pending job (with keyMode 'preserve_run_at').
 */
export function coalesceRunAt(input: {
  lastSyncedAt: Date | null;
  running: boolean;
  windowMs: number;
  now: number;
}): Date | undefined {
  const { lastSyncedAt, running, windowMs, now } = input;
  if (windowMs <= 0) return undefined;
  if (lastSyncedAt && now - lastSyncedAt.getTime() < windowMs)
    return new Date(lastSyncedAt.getTime() + windowMs);
  return running ? new Date(now + windowMs) : undefined;
}

/** Job keys among `jobKeys` whose job is running right now. */
export async function runningJobKeys(db: Queryable, jobKeys: string[]): Promise<Set<string>> {
  if (jobKeys.length === 0) return new Set();
  const { rows } = await db.query<{ key: string }>(
    'select key from graphile_worker.jobs where key = any($1) and locked_at is not null',
    [jobKeys],
  );
  return new Set(rows.map((r) => r.key));
}

/**
 * How many of these jobs are still in the queue, waiting, running or retrying: by id, or by key for a
 * job that graphile-worker replaced with a newer one for the same record while it ran.
 */
export async function countQueuedJobs(db: Queryable, jobIds: string[], jobKeys: string[]): Promise<number> {
  const { rows } = await db.query<{ count: string }>(
    'select count(*) as count from graphile_worker.jobs where (id = any($1::bigint[]) or key = any($2)) and (attempts < max_attempts or locked_at is not null)',
    [jobIds, jobKeys],
  );
  return Number(rows[0].count);
}

export interface JobSpec {
  task: string;
  payload: unknown;
  jobKey: string;
  maxAttempts: number;
  runAt?: Date;
}

/**
 * Adds many keyed jobs in one statement (one NOTIFY for the lot), preserving a pending job's
 * run_at like enqueue's 'preserve_run_at'. Keys must be distinct within one call.
 */
export async function enqueueMany(db: Queryable, specs: JobSpec[]): Promise<Map<string, string>> {
  if (specs.length === 0) return new Map();
  const rows = specs.map((s) => ({
    identifier: s.task,
    payload: s.payload,
    run_at: s.runAt?.toISOString() ?? null,
    max_attempts: s.maxAttempts,
    job_key: s.jobKey,
  }));
  const result = await db.query<{ id: string; key: string }>(
    `select id, key from graphile_worker.add_jobs(
       array(select json_populate_recordset(null::graphile_worker.job_spec, $1::json)), true)`,
    [JSON.stringify(rows)],
  );
  return new Map(result.rows.map((r) => [r.key, String(r.id)]));
}

export async function installQueueSchema(pool: pg.Pool): Promise<void> {
  await runMigrations({ pgPool: pool, logger: new WorkerLogger(() => () => undefined) });
}

export interface FailedJob {
  id: string;
  task: string;
  key: string | null;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  runAt: Date;
  updatedAt: Date;
}

export interface JobCounts {
  queued: number;
  running: number;
  retrying: number;
  failed: number;
}

export async function countJobs(db: Queryable): Promise<JobCounts> {
  const { rows } = await db.query<{ queued: string; running: string; retrying: string; failed: string }>(
    `select count(*) filter (where locked_at is null and attempts = 0) as queued,
            count(*) filter (where locked_at is not null) as running,
            count(*) filter (where locked_at is null and attempts > 0 and attempts < max_attempts) as retrying,
            count(*) filter (where locked_at is null and attempts >= max_attempts) as failed
       from graphile_worker.jobs`,
  );
  const r = rows[0];
  return {
    queued: Number(r.queued),
    running: Number(r.running),
    retrying: Number(r.retrying),
    failed: Number(r.failed),
  };
}

/**
 * Dead letters: jobs out of attempts. graphile-worker keeps them with their last error. It counts an
 * attempt when the job is taken, so a job running its last attempt is not dead yet: it is locked.
 */
export async function listFailedJobs(db: Queryable, limit = 100): Promise<FailedJob[]> {
  const { rows } = await db.query<{
    id: string;
    task_identifier: string;
    key: string | null;
    payload: unknown;
    attempts: number;
    max_attempts: number;
    last_error: string | null;
    run_at: Date;
    updated_at: Date;
  }>(
    // The public graphile_worker.jobs view omits the payload (graphile-worker ≥ 0.16), so read the tables.
    `select j.id, t.identifier as task_identifier, j.key, j.payload, j.attempts, j.max_attempts, j.last_error, j.run_at, j.updated_at
       from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
      where j.attempts >= j.max_attempts and j.locked_at is null
      order by j.updated_at desc limit $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: String(r.id),
    task: r.task_identifier,
    key: r.key,
    payload: r.payload,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    lastError: r.last_error,
    runAt: r.run_at,
    updatedAt: r.updated_at,
  }));
}

/**
 * Puts dead-lettered jobs back in the queue, due now, with their attempts reset. Calls graphile-worker's
 * SQL function directly: WorkerUtils.rescheduleJobs passes `attempts || null`, which drops a 0.
 */
export async function retryFailedJobs(db: Queryable, jobIds: string[]): Promise<number> {
  const { rowCount } = await db.query(
    'select id from graphile_worker.reschedule_jobs($1::bigint[], run_at := now(), attempts := 0)',
    [jobIds],
  );
  return rowCount ?? 0;
}

/**
 * Puts a job this pool is running back in the queue, due at `runAt`, and gives back the attempt
 * graphile-worker counted when it took the job: a job waiting for its record's other job, or for a
 * service outage to end, has not failed. graphile-worker has no public call for this
 * (rescheduleJobs leaves locked jobs alone and a failure always spends the attempt), so this is the
 * one place the relay writes its private table for it. The job must then throw: with the job no
 * longer locked by this pool, graphile-worker's fail_job matches no row and leaves it as set here.
 */
export async function deferRunningJob(
  db: Queryable,
  job: { id: string | number; locked_by?: string | null },
  runAt: Date,
  reason: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `update graphile_worker._private_jobs
        set run_at = $3, attempts = greatest(attempts - 1, 0), last_error = $4, locked_at = null, locked_by = null
      where id = $1 and locked_by = $2`,
    [job.id, job.locked_by ?? null, runAt, reason],
  );
  return (rowCount ?? 0) > 0;
}

/** Failed jobs (attempts spent, not running) per task, counted in the database. */
export async function countFailedJobsByTask(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ task: string; n: string }>(
    `select t.identifier as task, count(*) as n
       from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
      where j.attempts >= j.max_attempts and j.locked_at is null
      group by t.identifier`,
  );
  return new Map(rows.map((r) => [r.task, Number(r.n)]));
}

/**
 * Starts a failing job's backoff where the server asked the relay to wait (Retry-After): the
 * queue counts its backoff from run_at, and graphile-worker has no public call that moves a
 * running job's run_at.
 */
export async function delayRetry(db: Queryable, jobId: string | number, seconds: number): Promise<void> {
  await db.query(
    `update graphile_worker._private_jobs set run_at = now() + make_interval(secs => $2) where id = $1`,
    [jobId, seconds],
  );
}

/**
 * Ends a job's attempts now: with `lastError`, a job added in the caller's transaction is a dead
 * letter from the start (no worker sees it before the commit); without it, a running job's
 * current failure is its last (`attempts` is the attempt it is on).
 */
export async function spendAttempts(
  db: Queryable,
  jobId: string | number,
  end: { lastError: string } | { attempts: number },
): Promise<void> {
  if ('lastError' in end)
    await db.query(
      `update graphile_worker._private_jobs set attempts = max_attempts, last_error = $2 where id = $1`,
      [jobId, end.lastError],
    );
  else
    await db.query('update graphile_worker._private_jobs set max_attempts = $2 where id = $1', [
      jobId,
      end.attempts,
    ]);
}

/**
 * True when a job's key was taken over: graphile-worker gives a job's key to a new job when a
 * change arrives while the job runs, so a keyed job that no longer holds its key has been
 * superseded by a newer job for the same record.
 */
export async function isSupersededJob(db: Queryable, jobId: string | number): Promise<boolean> {
  const { rows } = await db.query<{ key: string | null }>(
    'select key from graphile_worker.jobs where id = $1',
    [jobId],
  );
  return rows.length > 0 && rows[0].key === null;
}

export interface QueueRunnerOptions {
  pool: pg.Pool;
  taskList: TaskList;
  concurrency: number;
  crontab?: string;
  staleSeconds: number;
  logger: Logger;
}

export interface QueueRunner {
  runner: Runner;
  utils: WorkerUtils;
  poolIds(): string[];
  stop(): Promise<void>;
}

function toWorkerLogger(logger: Logger): WorkerLogger {
  return new WorkerLogger((scope) => (level, message, meta) => {
    const fields = { scope: { ...scope }, ...(meta ?? {}) };
    // A job put back to wait (its record's other job, a breaker) is not a failure worth an error line.
    const code = (meta?.error as { code?: unknown } | undefined)?.code;
    if (code === 'JOB_DEFERRED') logger.debug(fields, message);
    else if (level === 'error') logger.error(fields, message);
    // The pool is smaller than the concurrency on purpose: jobs spend their time waiting on batched
    // API calls, not holding connections, and hosted PostgreSQL plans cap connections.
    else if (level === 'warning' && !message.includes('smaller than concurrency'))
      logger.warn(fields, message);
    else logger.debug(fields, message);
  });
}

/**
 * graphile-worker leaves the jobs of a killed worker locked for hours. Before serving, and on every
 * heartbeat, unlock the jobs of every pool whose heartbeat is older than `staleSeconds`. A fresh
 * heartbeat always wins: containers often share a hostname and each has its own pid namespace, so
 * "same host, no such pid" says nothing about a pool that is still beating.
 */
export async function releaseDeadWorkers(
  pool: pg.Pool,
  utils: WorkerUtils,
  staleSeconds: number,
  logger: Logger,
): Promise<string[]> {
  const { rows: dead } = await pool.query<{
    pool_id: string;
    worker_ids: string[];
    hostname: string;
    pid: number;
  }>(
    `select pool_id, worker_ids, hostname, pid from cosell.worker_pools
      where heartbeat_at < now() - make_interval(secs => $1)`,
    [staleSeconds],
  );
  if (dead.length === 0) return [];
  const ids = dead.flatMap((r) => [r.pool_id, ...r.worker_ids]);
  await dropSupersededLockedJobs(pool, ids);
  await utils.forceUnlockWorkers(ids);
  await pool.query('delete from cosell.worker_pools where pool_id = any($1)', [dead.map((r) => r.pool_id)]);
  logger.warn(
    { pools: dead.map((r) => ({ pool: r.pool_id, host: r.hostname, pid: r.pid })) },
    'released jobs locked by dead workers',
  );
  return ids;
}

const SYNC_TASKS = [
  TASKS.referralChanged,
  TASKS.opportunityChanged,
  ...Object.keys(LEGACY_TASKS).filter((old) => LEGACY_TASKS[old] !== TASKS.undecodableEvent),
];

/**
 * Deletes the sync jobs that `lockers` hold and that were superseded while they ran: graphile-worker
 * gives a running job's key to the newer job for the same record and marks the old one out of
 * attempts, so once unlocked it would stay behind as a dead letter for work the newer job does.
 * Only for lockers that no longer run those jobs (a dead pool, or jobs this pool lost track of).
 */
async function dropSupersededLockedJobs(
  db: Queryable,
  lockers: string[],
  keep: string[] = [],
  graceSeconds = 0,
): Promise<number> {
  const { rowCount } = await db.query(
    `delete from graphile_worker._private_jobs j
      using graphile_worker._private_tasks t
      where t.id = j.task_id and t.identifier = any($2) and j.locked_by = any($1)
        and j.key is null and j.attempts >= j.max_attempts
        and not (j.id = any($3::bigint[])) and j.locked_at < now() - make_interval(secs => $4)`,
    [lockers, SYNC_TASKS, keep, graceSeconds],
  );
  return rowCount ?? 0;
}

/**
 * Deletes superseded sync jobs that ran out of attempts while nobody held them: graphile-worker
 * leaves a job superseded while it ran with no attempt left, so one transient failure (a
 * PostgreSQL restart under it) made it a dead letter for work the record's newer job does.
 */
export async function dropSupersededDeadJobs(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `delete from graphile_worker._private_jobs j
      using graphile_worker._private_tasks t
      where t.id = j.task_id and t.identifier = any($1) and j.locked_at is null
        and j.key is null and j.attempts >= j.max_attempts`,
    [SYNC_TASKS],
  );
  // A scheduled reconcile that ran out of attempts (killed mid-run, say) is superseded by any later
  // run that finished: that run moved the watermark past it and covered the same changes.
  const reconciles = await db.query(
    `delete from graphile_worker._private_jobs j
      using graphile_worker._private_tasks t, cosell.checkpoints c
      where t.id = j.task_id and t.identifier = $1 and j.locked_at is null
        and j.attempts >= j.max_attempts and c.name = $2 and c.updated_at > j.created_at
        and coalesce((j.payload->>'full')::boolean, false) = false`,
    [TASKS.reconcile, RECONCILE_WATERMARK],
  );
  return (rowCount ?? 0) + (reconciles.rowCount ?? 0);
}

/** The checkpoint a finished reconcile moves (jobs/reconcile.ts REFERRAL_WATERMARK). */
export const RECONCILE_WATERMARK = 'reconcile:referrals';

/**
 * Releases jobs this process's own pools hold locked although none of its workers runs them.
 * graphile-worker records a job's completion or failure without awaiting it; when PostgreSQL is
 * restarting at that moment the statement fails and the job stays locked by a pool that keeps
 * beating, so releaseDeadWorkers never frees it (graphile-worker itself would after 4 hours). A
 * job locked for longer than `graceSeconds` that no worker here runs goes back to the queue (its
 * next run is idempotent, like any retry); a superseded one is deleted (see above).
 */
export async function releaseOrphanedJobs(
  db: Queryable,
  poolIds: string[],
  runningJobIds: string[],
  graceSeconds: number,
): Promise<number> {
  if (poolIds.length === 0) return 0;
  const dropped =
    (await dropSupersededLockedJobs(db, poolIds, runningJobIds, graceSeconds)) +
    (await dropSupersededDeadJobs(db));
  const { rowCount } = await db.query(
    `update graphile_worker._private_jobs set locked_at = null, locked_by = null
      where locked_by = any($1) and not (id = any($2::bigint[]))
        and locked_at < now() - make_interval(secs => $3)`,
    [poolIds, runningJobIds, graceSeconds],
  );
  return dropped + (rowCount ?? 0);
}

export async function startQueueRunner(options: QueueRunnerOptions): Promise<QueueRunner> {
  const { pool, logger } = options;
  const utils = await makeWorkerUtils({ pgPool: pool, logger: toWorkerLogger(logger) });
  await releaseDeadWorkers(pool, utils, options.staleSeconds, logger);
  const pools = new Map<string, Set<string>>();
  const persist = (poolId: string) =>
    pool
      .query(
        `insert into cosell.worker_pools (pool_id, worker_ids, hostname, pid) values ($1, $2, $3, $4)
         on conflict (pool_id) do update set worker_ids = excluded.worker_ids, heartbeat_at = now()`,
        [poolId, [...(pools.get(poolId) ?? [])], os.hostname(), process.pid],
      )
      .catch((error) => logger.error({ err: error }, 'could not record worker pool'));

  // Listen before run(): it creates the pool and its workers before it resolves, so listeners
  // attached to runner.events afterwards would miss them and no pool would ever be recorded.
  const events: WorkerEvents = new EventEmitter();
  events.on('pool:create', ({ workerPool }) => {
    pools.set(workerPool.id, new Set());
    void persist(workerPool.id);
  });
  events.on('worker:create', ({ worker }) => {
    const ids = pools.get(worker.workerPool.id) ?? new Set<string>();
    ids.add(worker.workerId);
    pools.set(worker.workerPool.id, ids);
  });
  // Jobs a worker of this process has taken and not finished yet (see releaseOrphanedJobs).
  const running = new Set<string>();
  events.on('job:start', ({ job }) => running.add(String(job.id)));
  events.on('job:complete', ({ job }) => running.delete(String(job.id)));
  const runner = await run({
    pgPool: pool,
    concurrency: options.concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: options.taskList,
    parsedCronItems: options.crontab ? parseCrontab(options.crontab) : [],
    logger: toWorkerLogger(logger),
    events,
  });
  // The pool and its workers exist once run() resolves; record them now and on every heartbeat.
  const heartbeatMs = Math.max(1000, (options.staleSeconds * 1000) / 3);
  const heartbeat = setInterval(() => {
    for (const id of pools.keys()) void persist(id);
    // A peer instance that died keeps its jobs locked until someone releases them: any survivor does.
    void releaseDeadWorkers(pool, utils, options.staleSeconds, logger).catch((error) =>
      logger.warn({ err: (error as Error).message }, 'could not release dead workers'),
    );
    void releaseOrphanedJobs(pool, [...pools.keys()], [...running], options.staleSeconds)
      .then((released) => {
        if (released > 0) logger.warn({ released }, 'released jobs this instance could not record as done');
      })
      .catch((error) => logger.warn({ err: (error as Error).message }, 'could not release orphaned jobs'));
  }, heartbeatMs);
  heartbeat.unref();
  setImmediate(() => {
    for (const id of pools.keys()) void persist(id);
  });

  return {
    runner,
    utils,
    poolIds: () => [...pools.keys()],
    async stop() {
      clearInterval(heartbeat);
      await runner.stop();
      await pool
        .query('delete from cosell.worker_pools where pool_id = any($1)', [[...pools.keys()]])
        .catch(() => undefined);
      await utils.release();
    },
  };
}

/** The two sync directions: which task runs them and which link column names the record. */
export const SYNC_KINDS = {
  referral: { task: TASKS.referralChanged, column: 'referral_id' },
  opportunity: { task: TASKS.opportunityChanged, column: 'opportunity_id' },
} as const;

/**
 * Job-key prefixes. Queued jobs and the per-record lock names carry these strings, so they stay as
 * they are across versions: a renamed prefix would let an old and a new instance run one record's
 * jobs side by side during a rolling deploy.
 */
const KEY_PREFIXES = { referral: 'pc:', opportunity: 'sf:', undecodableEvent: 'sf-undecodable:' } as const;

/**
 * The one place job keys are made: a referral's inbound sync, an Opportunity's outbound sync, an
 * undecodable Pub/Sub event by its event id, or the single scheduled reconcile.
 */
export function jobKey(kind: keyof typeof KEY_PREFIXES, id: string): string;
export function jobKey(kind: 'reconcile'): string;
export function jobKey(kind: keyof typeof KEY_PREFIXES | 'reconcile', id?: string): string {
  return kind === 'reconcile' ? 'reconcile' : KEY_PREFIXES[kind] + id;
}

/**
 * Adds one coalesced sync job per record (ids must be distinct): each runs at the time
 * coalesceRunAt gives from the record's last sync and whether its job is running now, in one
 * statement. Returns job ids by record id.
 */
export async function enqueueSyncJobs(
  db: Queryable,
  kind: keyof typeof SYNC_KINDS,
  jobs: Array<{ id: string; payload: unknown }>,
  options: { maxAttempts: number; coalesceMs: number },
): Promise<Map<string, string>> {
  if (jobs.length === 0) return new Map();
  const { task, column } = SYNC_KINDS[kind];
  const ids = jobs.map((j) => j.id);
  const { rows } = await db.query<{ id: string; last_synced_at: Date | null }>(
    `select ${column} as id, last_synced_at from cosell.links where ${column} = any($1)`,
    [ids],
  );
  const lastSynced = new Map(rows.map((r) => [r.id, r.last_synced_at]));
  const keys = new Map(ids.map((id) => [id, jobKey(kind, id)]));
  const running = await runningJobKeys(db, [...keys.values()]);
  const now = Date.now();
  const added = await enqueueMany(
    db,
    jobs.map((j) => ({
      task,
      payload: j.payload,
      jobKey: keys.get(j.id)!,
      maxAttempts: options.maxAttempts,
      runAt: coalesceRunAt({
        lastSyncedAt: lastSynced.get(j.id) ?? null,
        running: running.has(keys.get(j.id)!),
        windowMs: options.coalesceMs,
        now,
      }),
    })),
  );
  return new Map(ids.map((id) => [id, added.get(keys.get(id)!) ?? '']));
}
