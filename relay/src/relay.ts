import http from 'node:http';
import type { Task } from 'graphile-worker';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createApp } from './app.ts';
import { createCircuitBreaker } from './breaker.ts';
import type { BreakerStatus } from './breaker.ts';
import { createDashboardOperations } from './dashboardOperations.ts';
import type { RelayConfig } from './config.ts';
import type { RelayConnectionSettings } from './connectionSettings.ts';
import { armCrashPoint, crashPoint } from './crashPoint.ts';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';
import { Metrics } from './metrics.ts';
import type { RelayOperations, RelayStatus, SubscriberStatus } from './operations.ts';
import { entraAuthFromSettings } from './partner-center/entraAuth.ts';
import type { EntraAuth } from './partner-center/entraAuth.ts';
import { createReferralsClient, throttleVerdict } from './partner-center/referralsClient.ts';
import type { ReferralsClient } from './partner-center/referralsClient.ts';
import { createSignatureVerifier } from './partner-center/signature.ts';
import { createWebhookRegistrationClient } from './partner-center/webhookRegistrationClient.ts';
import type { WebhookRegistrationClient } from './partner-center/webhookRegistrationClient.ts';
import type { ChangeFeed, DealChange, UndecodableChange } from './crm/crmAdapter.ts';
import { createSalesforceAdapter } from './crm/salesforce/adapter.ts';
import type { SalesforceAdapter } from './crm/salesforce/adapter.ts';
import { listAudit, recordAudit } from './store/audit.ts';
import { loadCheckpoint, loadCheckpointInfo, saveCheckpoint } from './store/checkpoints.ts';
import { openDatabase } from './store/database.ts';
import {
  countOpenDeadLetters,
  dropDeadLetter,
  listDeadLetters,
  retryDeadLetter,
} from './store/deadLetters.ts';
import type { Database } from './store/database.ts';
import { createLeaderElection } from './store/leaderLock.ts';
import { createNamedLocks } from './store/namedLock.ts';
import { createRecordLocks } from './store/recordLocks.ts';
import type { LeaderElection } from './store/leaderLock.ts';
import { countLinksByStatus, listLinks } from './store/links.ts';
import {
  countJobs,
  enqueue,
  enqueueSyncJobs,
  installQueueSchema,
  jobKey,
  startQueueRunner,
  TASKS,
  withLegacyTaskNames,
} from './store/queue.ts';
import type { QueueRunner } from './store/queue.ts';
import { createTokenCacheStore } from './store/tokenCache.ts';
import { withTransaction } from './store/transaction.ts';
import { createSyncStats } from './syncStats.ts';
import { countingFetch, partnerCenterEndpoint } from './apiCallCounter.ts';
import { registerRelayMetrics } from './relayMetrics.ts';
import { createDeliveryIntake, pruneReceipts } from './store/webhookReceipts.ts';
import { opportunityChangedTask, outboundJobPayload } from './jobs/opportunityChanged.ts';
import { referralChangedTask } from './jobs/referralChanged.ts';
import { oneJobPerRecord, waitingOutOutages } from './jobs/recordJob.ts';
import {
  keepUndecodableEvents,
  UNDECODABLE_EVENT_TASK,
  undecodableEventTask,
} from './jobs/undecodableEvent.ts';
import {
  enqueueReferralSyncs,
  OPPORTUNITY_WATERMARK,
  reconcileTask,
  REFERRAL_WATERMARK,
} from './jobs/reconcile.ts';
import type { ReconcileDeps } from './jobs/reconcile.ts';
import { DEFAULT_RETRY_POLICY } from './jobs/retry.ts';
import type { RetryPolicy } from './jobs/retry.ts';
import type { SyncContext } from './jobs/syncContext.ts';
import { loadMapping } from './mappingLoader.ts';
import { unfilledRequiredFields, withTargets } from './sync/index.ts';
import type { Mapping } from './sync/index.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
// Any constant works; it only has to be the same for every relay instance sharing a database.
const SUBSCRIBER_LOCK = 0x5f5375627363;
export const REPLAY_CHECKPOINT = 'pubsub:replay';

export interface StartRelayOptions {
  config: RelayConfig;
  settings: RelayConnectionSettings;
  logger: Logger;
  tokenCacheKey: Buffer;
  /** Overrides DATABASE_URL / the embedded cluster (tests pass a fresh database). */
  databaseUrl?: string;
  /** Listen here instead of HOST:PORT (tests use port 0). */
  listen?: { host: string; port: number };
  subscribe?: boolean;
  retry?: RetryPolicy;
  /** Runs before the listener opens (sandbox mode signs in here, so no probe sees it signed out). */
  beforeListen?: (parts: { auth: EntraAuth }) => Promise<void>;
}

export interface RunningRelay {
  url: string;
  config: RelayConfig;
  database: Database;
  mapping: Mapping;
  metrics: Metrics;
  auth: EntraAuth;
  referrals: ReferralsClient;
  webhooks: WebhookRegistrationClient;
  crm: SalesforceAdapter;
  operations: RelayOperations;
  queue: QueueRunner;
  /** Graceful stop: refuse new webhooks, let in-flight jobs finish (or release them), close. */
  stop(): Promise<void>;
}

export async function startRelay(options: StartRelayOptions): Promise<RunningRelay> {
  const { config, settings, logger } = options;
  const startedAt = new Date();
  armCrashPoint(config.COSELL_CRASH_POINT);
  const mapping = await loadMapping(
    path.resolve(config.rootDir, config.MAPPING_FILE),
    path.resolve(config.rootDir, config.FORCE_APP_DIR),
  );
  for (const notice of mapping.notices) logger.warn({ file: config.MAPPING_FILE }, notice);
  const database = await openDatabase({
    databaseUrl: options.databaseUrl ?? config.DATABASE_URL,
    embeddedDir: path.resolve(config.rootDir, config.EMBEDDED_PG_DIR),
    embeddedPort: config.EMBEDDED_PG_PORT,
    poolSize: 30,
    freshEmbedded: config.COSELL_MODE === 'sandbox',
    logger: logger.child({ module: 'store' }),
  });
  const { pool } = database;
  await installQueueSchema(pool);
  const metrics = new Metrics();
  const syncStats = createSyncStats({ pool, metrics, logger: logger.child({ module: 'stats' }) });
  const partnerCenterCalls = new Map<string, number>();
  const countPartnerCenter = countingFetch((method, url) => {
    const endpoint = partnerCenterEndpoint(method, url);
    partnerCenterCalls.set(endpoint, (partnerCenterCalls.get(endpoint) ?? 0) + 1);
  });
  let draining = false;

  const pc = settings.partnerCenter;
  const auth = entraAuthFromSettings(
    pc,
    createTokenCacheStore(pool, options.tokenCacheKey),
    logger.child({ module: 'entra' }),
  );
  // ---- per-org circuit breakers (breaker.ts): an API-limit outage pauses calls, jobs wait ----
  const breakerLog = logger.child({ module: 'breaker' });
  const onBreakerChange = (b: BreakerStatus) =>
    void recordAudit(pool, {
      direction: 'system',
      level: b.state === 'closed' ? 'INFO' : 'ERROR',
      message:
        b.state === 'closed'
          ? `${b.name} calls resumed`
          : `${b.name} calls paused until ${b.retryAt ?? '?'}: ${b.reason ?? ''}; jobs wait without spending attempts`,
    }).catch(() => undefined);
  const probe = { minProbeMs: config.BREAKER_PROBE_MS, maxProbeMs: config.BREAKER_PROBE_MAX_MS };
  const salesforceBreaker = createCircuitBreaker({
    name: 'salesforce',
    label: 'Salesforce',
    classify: (error) => crm.limitVerdict(error),
    ...probe,
    logger: breakerLog,
    onChange: onBreakerChange,
  });
  const partnerCenterBreaker = createCircuitBreaker({
    name: 'partner-center',
    label: 'Partner Center',
    classify: throttleVerdict,
    ...probe,
    logger: breakerLog,
    onChange: onBreakerChange,
  });
  partnerCenterBreaker.setOrg(pc.authority.replace(/\/+$/, '').split('/').pop() ?? '');
  const breakers = [salesforceBreaker, partnerCenterBreaker];

  const referrals = createReferralsClient({
    breaker: partnerCenterBreaker,
    baseUrl: pc.referralsBaseUrl,
    getToken: () => auth.getDelegatedToken(),
    logger: logger.child({ module: 'referrals' }),
    fetch: countPartnerCenter,
  });
  const webhooks = createWebhookRegistrationClient({
    baseUrl: pc.webhookApiBaseUrl,
    getToken: () => auth.getAppToken(),
    logger: logger.child({ module: 'webhooks' }),
    fetch: countPartnerCenter,
  });
  const verifier = createSignatureVerifier({
    allowedCertificateHosts: settings.webhook.certificateHosts,
    certificatePathPattern: settings.webhook.certificatePathPattern,
    trustedRootsPem: settings.webhook.trustedRootsPem,
    httpsCaPem: settings.webhook.certificateFetchCaPem,
    maxBodyBytes: config.WEBHOOK_MAX_BODY_BYTES,
    cacheTtlMs: config.WEBHOOK_CERT_CACHE_SECONDS * 1000,
    acceptedExtendedKeyUsages: config.WEBHOOK_CERT_EXTENDED_KEY_USAGES,
  });
  const crm = createSalesforceAdapter({
    loginUrl: settings.salesforce.loginUrl,
    clientId: settings.salesforce.clientId,
    clientSecret: settings.salesforce.clientSecret,
    apiVersion: config.SF_API_VERSION,
    windowMs: config.BATCH_WINDOW_MS,
    maxWaitMs: Math.max(config.BATCH_WINDOW_MS, config.BATCH_MAX_WAIT_MS),
    deferredWindowMs: config.WRITE_BACK_WINDOW_MS,
    breaker: salesforceBreaker,
    pubsub: {
      endpoint: settings.salesforce.pubsubEndpoint,
      topic: config.SF_EVENT_TOPIC,
      tls: settings.salesforce.pubsubTls,
      caPem: settings.salesforce.pubsubCaPem,
      batchSize: config.SF_PUBSUB_BATCH_SIZE,
      replayOnCorrupt: config.SF_REPLAY_ON_CORRUPT,
    },
    logger,
  });
  // Log in now, but let the relay start (and report it on /readyz) if Salesforce is down.
  void crm
    .connect()
    .catch((error) =>
      logger.error({ err: describeError(error) }, 'Salesforce login failed; will retry on demand'),
    );

  const retry = options.retry ?? { ...DEFAULT_RETRY_POLICY, retries: config.JOB_RETRIES_IN_PLACE };
  const locks = createNamedLocks(database.connectionString);
  const countRecordSource = metrics.counter(
    'cosell_outbound_record_reads_total',
    "Where outbound jobs got the Opportunity: the event's snapshot (no API call) or a query",
    ['source'],
  );
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
      await saveCheckpoint(pool, name, Buffer.from(startedAt.toISOString(), 'utf8'));
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

  const recordLocks = createRecordLocks(database.connectionString, logger.child({ module: 'record-locks' }));
  const perRecord = {
    pool,
    locks: recordLocks,
    breakers,
    busyDelayMs: Math.max(100, config.COALESCE_WINDOW_MS),
    outageDelayMs: config.BREAKER_PROBE_MS,
    logger: logger.child({ module: 'sync' }),
  };
  // Declared before the queue starts: a retried undecodable event asks it for the decoder.
  let subscriber: ChangeFeed | null = null;
  const queue = await startQueueRunner({
    pool,
    concurrency: config.WORKER_CONCURRENCY,
    staleSeconds: config.WORKER_STALE_SECONDS,
    logger: logger.child({ module: 'queue' }),
    crontab: `${config.RECONCILE_CRON} ${TASKS.reconcile} ?max=3\n0 4 * * * ${TASKS.prune} ?max=1`,
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
        decoder: () => subscriber?.decode ?? null,
        maxAttempts: config.JOB_MAX_ATTEMPTS,
        coalesceMs: config.COALESCE_WINDOW_MS,
        logger: logger.child({ module: 'pubsub' }),
      }),
      [TASKS.prune]: async () => {
        await pruneReceipts(pool);
      },
    }),
  });

  // ---- Pub/Sub subscriber, on the leader only ----------------------------------------------
  const onBatch = (changes: DealChange[], checkpoint: Buffer, undecodable: UndecodableChange[]) =>
    withTransaction(pool, async (client) => {
      await keepUndecodableEvents(client, undecodable, { maxAttempts: config.JOB_MAX_ATTEMPTS });
      // One job per Opportunity however many of its events the batch holds: the latest, whose snapshot
      // is the newest.
      const latest = new Map<string, DealChange>();
      for (const change of changes) {
        if (typeof change.dealId === 'string' && change.dealId.length > 0) latest.set(change.dealId, change);
      }
      await enqueueSyncJobs(
        client,
        'opportunity',
        [...latest].map(([opportunityId, change]) => ({
          id: opportunityId,
          payload: { ...outboundJobPayload(change), changedAt: change.changedAt },
        })),
        { maxAttempts: config.JOB_MAX_ATTEMPTS, coalesceMs: config.COALESCE_WINDOW_MS },
      );
      crashPoint('pubsub-batch:commit');
      // The jobs and the position they came from commit together: a crash either keeps both or
      // neither, and the stream resumes right after the last event that became a job.
      await saveCheckpoint(client, REPLAY_CHECKPOINT, checkpoint);
    });
  const subscribe = options.subscribe ?? true;
  const election: LeaderElection | null = subscribe
    ? createLeaderElection({
        connectionString: database.connectionString,
        lockKey: SUBSCRIBER_LOCK,
        retryMs: 3000,
        logger: logger.child({ module: 'leader' }),
        onElected: async () => {
          subscriber = crm.openChangeFeed({
            loadCheckpoint: () => loadCheckpoint(pool, REPLAY_CHECKPOINT),
            onBatch,
            onCheckpointLost: async (from) => {
              await recordAudit(pool, {
                direction: 'system',
                level: 'ERROR',
                message: `Pub/Sub replay id was no longer valid; resubscribed from ${from} and started a reconcile`,
              });
              await enqueueReconcile();
            },
          });
          subscriber.start();
        },
        onDemoted: async () => {
          const s = subscriber;
          subscriber = null;
          await s?.stop();
        },
      })
    : null;
  election?.start();

  // ---- operations (dashboard, admin API, CLI) ---------------------------------------------
  const webhookCount = (outcome: string) => metrics.value('cosell_webhook_deliveries_total', { outcome });
  const subscriberStatus = (): SubscriberStatus => {
    const stats = subscriber?.status();
    const role = !subscribe ? 'stopped' : election?.isLeader() ? 'leader' : 'standby';
    const ok = role !== 'leader' || Boolean(stats && (stats.connected || stats.failures < 3));
    return {
      ok,
      detail: ok ? undefined : `Pub/Sub stream down after ${stats?.failures ?? 0} failures`,
      role,
      connected: stats?.connected ?? false,
      reconnects: stats?.reconnects ?? 0,
      received: stats?.received ?? 0,
      lagMs: stats?.lagMs ?? null,
      lastEventAt: stats?.lastEventAt ? new Date(stats.lastEventAt).toISOString() : null,
      lastReplayId: stats?.lastPosition ?? null,
    };
  };
  const operations: RelayOperations = {
    async status(): Promise<RelayStatus> {
      const database = await pool
        .query('select 1')
        .then(() => ({ ok: true }))
        .catch((error: Error) => ({ ok: false, detail: `database unreachable: ${error.message}` }));
      const [jobs, links, health, watermark] = database.ok
        ? await Promise.all([
            // Sync jobs that gave up leave a dead letter of their own, not a failed graphile job.
            Promise.all([countJobs(pool), countOpenDeadLetters(pool)]).then(([counts, open]) => ({
              ...counts,
              failed: counts.failed + open,
            })),
            countLinksByStatus(pool),
            auth
              .tokenHealth()
              .catch((error: unknown) => ({ status: 'failed' as const, detail: describeError(error) })),
            loadCheckpointInfo(pool, REFERRAL_WATERMARK),
          ])
        : [
            { queued: 0, running: 0, retrying: 0, failed: 0 },
            { Synced: 0, Pending: 0, Error: 0 },
            { status: 'failed' as const, detail: 'database unreachable' },
            null,
          ];
      const workers = draining ? { ok: false, detail: 'shutting down' } : { ok: true };
      const token = { ...health, ok: health.status === 'ok' || health.status === 'expiring' };
      const crmHealth = crm.health();
      const sfCheck = crmHealth.ok ? { ok: true } : { ok: false, detail: crmHealth.detail };
      const sub = subscriberStatus();
      const openBreakers = breakers.map((b) => b.status()).filter((b) => b.state !== 'closed');
      const breakerCheck = {
        ok: true,
        open: openBreakers,
        ...(openBreakers.length > 0
          ? {
              detail: openBreakers
                .map((b) => `${b.name} calls paused until ${b.retryAt ?? '?'}: ${b.reason ?? ''}`)
                .join('; '),
            }
          : {}),
      };
      return {
        mode: config.COSELL_MODE,
        version: VERSION,
        startedAt: startedAt.toISOString(),
        ready: database.ok && workers.ok && token.ok && sfCheck.ok && sub.ok,
        draining,
        checks: {
          database,
          workers,
          partnerCenterToken: token,
          salesforce: sfCheck,
          subscriber: sub,
          breakers: breakerCheck,
        },
        jobs,
        links,
        salesforce: {
          apiCalls: crmHealth.apiCalls,
          apiUsage: crmHealth.apiUsage,
        },
        webhooks: {
          accepted: webhookCount('accepted'),
          duplicates: webhookCount('duplicate'),
          ignored: webhookCount('ignored'),
          rejected: Object.values(
            Object.fromEntries(
              ['SIGNATURE_INVALID', 'REQUEST_INVALID', 'PAYLOAD_TOO_LARGE'].map((r) => [
                r,
                metrics.value('cosell_webhook_deliveries_total', { outcome: 'rejected', reason: r }),
              ]),
            ),
          ).reduce((a, b) => a + b, 0),
        },
        lastReconcileAt: watermark ? watermark.value.toString('utf8') : null,
      };
    },
    listLinks: (o) => listLinks(pool, o),
    listAudit: (o) => listAudit(pool, o),
    listFailedJobs: (limit) => listDeadLetters(pool, limit),
    async retryJob(jobId) {
      const retried = await retryDeadLetter(pool, jobId);
      if (!retried) return false;
      await recordAudit(pool, {
        direction: 'system',
        level: 'INFO',
        jobId,
        referralId: retried.referralId,
        opportunityId: retried.opportunityId,
        message: `Dead letter ${jobId} (${retried.task}) put back in the queue`,
      });
      return true;
    },
    async dropJob(jobId) {
      const dropped = await dropDeadLetter(pool, jobId, (id) =>
        queue.utils.completeJobs([id]).then(() => undefined),
      );
      if (!dropped) return false;
      await recordAudit(pool, {
        direction: 'system',
        level: 'INFO',
        jobId,
        referralId: dropped.referralId,
        opportunityId: dropped.opportunityId,
        message: `Dead letter ${jobId} (${dropped.task}) dropped; last error: ${dropped.lastError ?? 'none'}`,
        details: { payload: dropped.payload as Record<string, unknown> },
      });
      return true;
    },
    reconcile: enqueueReconcile,
    backfill: (onProgress) =>
      enqueueReferralSyncs(
        { pool, referrals, maxAttempts: config.JOB_MAX_ATTEMPTS },
        null,
        'backfill',
        onProgress,
      ),
    ...createDashboardOperations({ pool, referrals, crm, mapping, syncStats }),
  };

  registerRelayMetrics(metrics, {
    pool,
    crm,
    partnerCenterCalls: () => partnerCenterCalls,
    subscriber: subscriberStatus,
    isLeader: () => election?.isLeader() ?? false,
  });

  // ---- HTTP --------------------------------------------------------------------------------
  const intake = createDeliveryIntake(pool, {
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    coalesceMs: config.COALESCE_WINDOW_MS,
  });
  const app = createApp({
    config,
    logger: logger.child({ module: 'http' }),
    metrics,
    operations,
    verifyWebhook: (body, headers) => verifier.verify(body, headers),
    acceptDelivery: (delivery) => intake.accept(delivery),
    isDraining: () => draining,
  });
  await options.beforeListen?.({ auth });
  const server = http.createServer(app);
  const listen = options.listen ?? { host: config.HOST, port: config.PORT };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host}:${address.port}`;
  logger.info({ url, mode: config.COSELL_MODE, embeddedDatabase: database.embedded }, 'relay listening');

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      draining = true;
      logger.info('stopping: no new webhooks, finishing in-flight jobs');
      // Deliveries already handed in are committed before anything closes.
      await intake.drain();
      const deadline = config.SHUTDOWN_TIMEOUT_MS;
      await election?.stop();
      const graceful = queue.stop().then(
        () => 'stopped' as const,
        (error: unknown) => {
          logger.error({ err: describeError(error) }, 'queue did not stop cleanly');
          return 'stopped' as const;
        },
      );
      const timeout = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), Math.max(1000, deadline - 3000)).unref(),
      );
      if ((await Promise.race([graceful, timeout])) === 'timeout') {
        // Jobs still running are failed back to the queue (an attempt used, retried after the
        // queue's backoff) rather than left locked until graphile-worker's lock timeout.
        logger.warn('jobs did not finish in time; releasing them');
        await queue.runner.kill().catch(() => undefined);
      }
      await crm.deals.flush().catch(() => undefined);
      await syncStats.stop();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await locks.close();
      await recordLocks.close();
      await database.close();
      logger.info('stopped');
    })();
    return stopping;
  };

  return {
    url,
    config,
    database,
    mapping,
    metrics,
    auth,
    referrals,
    webhooks,
    crm,
    operations,
    queue,
    stop,
  };
}
