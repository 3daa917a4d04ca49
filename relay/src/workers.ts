/**
 * The workers: the sync context the jobs share, the task list (each sync job one at a time per
 * record, instrumented for metrics and the dashboard's statistics), the reconcile's dependencies
 * and graphile-worker's runner. Part of the composition root.
 */
import type pg from 'pg';
import type { Task } from 'graphile-worker';
import type { CircuitBreaker } from './breaker.ts';
import type { RelayConfig } from './config.ts';
import type { ChangeFeed, CrmAdapter } from './crm/crmAdapter.ts';
import { describeError } from './errors.ts';
import { opportunityChangedTask } from './jobs/opportunityChanged.ts';
import { OPPORTUNITY_WATERMARK, reconcileTask, REFERRAL_WATERMARK } from './jobs/reconcile.ts';
import type { ReconcileDeps } from './jobs/reconcile.ts';
import { oneJobPerRecord, waitingOutOutages } from './jobs/recordJob.ts';
import { referralChangedTask } from './jobs/referralChanged.ts';
import { DEFAULT_RETRY_POLICY } from './jobs/retry.ts';
import type { RetryPolicy } from './jobs/retry.ts';
import type { SyncContext } from './jobs/syncContext.ts';
import { UNDECODABLE_EVENT_TASK, undecodableEventTask } from './jobs/undecodableEvent.ts';
import { noticeExpiring } from './jobs/notices.ts';
import { createNotifier, parseNotificationTargets } from './notifications/notifier.ts';
import { createNotificationOutbox, notificationSendTask } from './notifications/outbox.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { ReferralsClient } from './partner-center/referralsClient.ts';
import { loadCheckpoint, saveCheckpoint } from './store/checkpoints.ts';
import { createNamedLocks } from './store/namedLock.ts';
import { enqueue, jobKey, startQueueRunner, TASKS, withLegacyTaskNames } from './store/queue.ts';
import type { QueueRunner } from './store/queue.ts';
import { createRecordLocks } from './store/recordLocks.ts';
import { pruneReceipts } from './store/webhookReceipts.ts';
import { unfilledRequiredFields, withTargets } from './sync/index.ts';
import type { Mapping } from './sync/index.ts';
import type { SyncStats } from './syncStats.ts';

export interface Workers {
  queue: QueueRunner;
  /** Queues a reconcile now; one at a time, its single job key coalesces every request. */
  enqueueReconcile(): Promise<string>;
  /** Closes the lock connections (after the queue stopped). */
  close(): Promise<void>;
}

export async function startWorkers(options: {
  pool: pg.Pool;
  connectionString: string;
  config: RelayConfig;
  crm: CrmAdapter;
  referrals: ReferralsClient;
  mapping: Mapping;
  breakers: CircuitBreaker[];
  metrics: Metrics;
  syncStats: SyncStats;
  retry?: RetryPolicy;
  startedAt: Date;
  /** The change feed while this instance reads it: a retried undecodable change needs its decoder. */
  changeFeed: () => ChangeFeed | null;
  logger: Logger;
}): Promise<Workers> {
  const { pool, config, crm, referrals, mapping, breakers, metrics, syncStats, logger } = options;
  const retry = options.retry ?? { ...DEFAULT_RETRY_POLICY, retries: config.JOB_RETRIES_IN_PLACE };
  const locks = createNamedLocks(options.connectionString);
  const countRecordSource = metrics.counter(
    'cosell_outbound_record_reads_total',
    "Where outbound jobs got the Opportunity: the event's snapshot (no API call) or a query",
    ['source'],
  );
  const notifier = createNotifier({ targets: parseNotificationTargets(config.NOTIFICATIONS), logger });
  const notifications = createNotificationOutbox({
    pool,
    notifier,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    logger,
  });
  const ctx: SyncContext = {
    pool,
    locks,
    referrals,
    crm,
    mapping,
    retry,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    logger: logger.child({ module: 'sync' }),
    now: () => new Date(),
    countRecordSource: (source) => countRecordSource({ source }),
    observeWrite: (changedAt) => syncStats.observeWrite(changedAt),
    observeGiveUp: (direction) => syncStats.observeFailure(direction),
    notifications,
    dealUrl: (id) => crm.recordUrl(id),
    deletes: { rule: config.DEAL_DELETED_RULE, reason: config.DEAL_DELETED_REASON },
    knownSolutions: new Set(config.PARTNER_SOLUTION_IDS),
  };
  if (config.COSELL_MODE === 'production') {
    // Values are fitted to the fields as the org defines them (an admin may have shortened one or
    // made one required); until the describe answers, or if it fails, to force-app's definitions.
    void crm
      .describeDealFields()
      .then((fields) => {
        const described = { opportunityFields: new Map(fields.map((field) => [field.name, field])) };
        ctx.mapping = withTargets(mapping, described);
        const unfilled = unfilledRequiredFields(mapping, described);
        if (unfilled.length > 0)
          logger.warn(
            { fields: unfilled },
            'required Opportunity fields without a default in the mapping: creates fail until config/mapping.json gives them one',
          );
      })
      .catch((error: unknown) =>
        logger.warn(
          { err: describeError(error) },
          'Opportunity describe failed; fitting values to the force-app fields',
        ),
      );
  }
  const reconcileDeps: ReconcileDeps = {
    pool,
    referrals,
    listChangedOpportunities: (since) => crm.listChangedDeals(since),
    overlapSeconds: config.RECONCILE_OVERLAP_SECONDS,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    logger: logger.child({ module: 'reconcile' }),
    now: () => new Date(),
  };
  /** One scheduled reconcile at a time: its single job key coalesces every request. */
  const enqueueReconcile = () =>
    enqueue(pool, TASKS.reconcile, {}, { jobKey: jobKey('reconcile'), maxAttempts: config.JOB_MAX_ATTEMPTS });
  // Reconcile looks back from a watermark; a new database starts it now (a full sweep is `backfill`).
  for (const name of [REFERRAL_WATERMARK, OPPORTUNITY_WATERMARK]) {
    if (!(await loadCheckpoint(pool, name)))
      await saveCheckpoint(pool, name, Buffer.from(options.startedAt.toISOString(), 'utf8'));
  }
  const countJob = metrics.counter('cosell_jobs_total', 'Sync jobs run, by task and outcome', [
    'task',
    'outcome',
  ]);
  const instrument =
    (task: string, fn: Task): Task =>
    async (payload, helpers) => {
      const direction = task === TASKS.referralChanged ? 'inbound' : 'outbound';
      // The change a job carries, for latency: a webhook's job was enqueued as the change arrived,
      // a Pub/Sub job carries its event's CreatedDate; reconcile and backfill jobs carry none.
      const p = (payload ?? {}) as { reason?: unknown; changedAt?: unknown };
      const changedAt =
        direction === 'inbound'
          ? p.reason === 'webhook'
            ? new Date(helpers.job.created_at).getTime()
            : null
          : typeof p.changedAt === 'number'
            ? p.changedAt
            : null;
      try {
        await syncStats.runJob({ direction, changedAt }, async () => fn(payload, helpers));
        countJob({ task, outcome: 'success' });
      } catch (error) {
        // A job put back to wait (its record's other job, a breaker) has not failed.
        const deferred = (error as { code?: unknown } | null)?.code === 'JOB_DEFERRED';
        countJob({ task, outcome: deferred ? 'deferred' : 'failure' });
        if (!deferred) syncStats.observeFailure(direction);
        throw error;
      }
    };

  const recordLocks = createRecordLocks(options.connectionString, logger.child({ module: 'record-locks' }));
  const perRecord = {
    pool,
    locks: recordLocks,
    breakers,
    busyDelayMs: Math.max(100, config.COALESCE_WINDOW_MS),
    outageDelayMs: config.BREAKER_PROBE_MS,
    logger: logger.child({ module: 'sync' }),
  };
  const queue = await startQueueRunner({
    pool,
    concurrency: config.WORKER_CONCURRENCY,
    staleSeconds: config.WORKER_STALE_SECONDS,
    logger: logger.child({ module: 'queue' }),
    crontab: [
      `${config.RECONCILE_CRON} ${TASKS.reconcile} ?max=3`,
      `0 4 * * * ${TASKS.prune} ?max=1`,
      // The expiry scan lists Partner Center's New referrals: only when someone listens for it.
      ...(notifier.targetsFor('referral-expiring').length > 0
        ? [`${config.NOTIFY_EXPIRY_CRON} ${TASKS.notificationExpiry} ?max=1`]
        : []),
    ].join('\n'),
    taskList: withLegacyTaskNames({
      [TASKS.referralChanged]: instrument(
        TASKS.referralChanged,
        oneJobPerRecord(perRecord, 'referral', referralChangedTask(ctx)),
      ),
      [TASKS.opportunityChanged]: instrument(
        TASKS.opportunityChanged,
        oneJobPerRecord(perRecord, 'opportunity', opportunityChangedTask(ctx)),
      ),
      [TASKS.reconcile]: waitingOutOutages(perRecord, reconcileTask(reconcileDeps)),
      [UNDECODABLE_EVENT_TASK]: undecodableEventTask({
        pool,
        decoder: () => options.changeFeed()?.decode ?? null,
        maxAttempts: config.JOB_MAX_ATTEMPTS,
        coalesceMs: config.COALESCE_WINDOW_MS,
        logger: logger.child({ module: 'pubsub' }),
      }),
      [TASKS.prune]: async () => {
        await pruneReceipts(pool);
      },
      [TASKS.notificationSend]: notificationSendTask({ pool, notifier, logger }),
      [TASKS.notificationExpiry]: async () => {
        const due = await noticeExpiring(ctx, config.NOTIFY_EXPIRY_HOURS * 3600 * 1000);
        logger.info({ due }, 'expiry scan: unanswered referrals expiring soon');
      },
    }),
  });

  return {
    queue,
    enqueueReconcile,
    close: async () => {
      await locks.close();
      await recordLocks.close();
    },
  };
}
