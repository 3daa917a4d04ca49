/**
 * The composition root: builds each part of a relay and wires them together. What the parts do
 * lives in them: clouds.ts (Partner Center and CRM clients), workers.ts (sync jobs and queue),
 * intake.ts (webhooks and the CRM's change feed), relayOperations.ts (status, dead letters),
 * server.ts (the listener and the graceful stop).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createApp } from './app.ts';
import { connectClouds } from './clouds.ts';
import type { RelayConfig } from './config.ts';
import type { RelayConnectionSettings } from './connectionSettings.ts';
import { armCrashPoint } from './crashPoint.ts';
import type { SalesforceAdapter } from './crm/salesforce/adapter.ts';
import { createWebhookIntake, startChangeIntake } from './intake.ts';
import type { ChangeIntake } from './intake.ts';
import type { RetryPolicy } from './jobs/retry.ts';
import type { Logger } from './logger.ts';
import { loadMappingInStages } from './mappingLoader.ts';
import { Metrics } from './metrics.ts';
import type { RelayOperations } from './operations.ts';
import type { EntraAuth } from './partner-center/entraAuth.ts';
import type { ReferralsClient } from './partner-center/referralsClient.ts';
import type { WebhookRegistrationClient } from './partner-center/webhookRegistrationClient.ts';
import { registerRelayMetrics } from './relayMetrics.ts';
import { createRelayOperations } from './relayOperations.ts';
import { listenHttp, stopRelay } from './server.ts';
import { openDatabase } from './store/database.ts';
import type { Database } from './store/database.ts';
import { installQueueSchema } from './store/queue.ts';
import type { QueueRunner } from './store/queue.ts';
import type { Mapping } from './sync/index.ts';
import { createSyncStats } from './syncStats.ts';
import { startWorkers } from './workers.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

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
  // Production may map the org's own fields, which only its describe knows: such a mapping is
  // finished once the CRM client exists (mappingLoader.ts); any other problem stops the start here.
  const finishMapping = await loadMappingInStages(
    path.resolve(config.rootDir, config.MAPPING_FILE),
    path.resolve(config.rootDir, config.FORCE_APP_DIR),
    config.COSELL_MODE === 'production',
  );
  const database = await openDatabase({
    databaseUrl: options.databaseUrl ?? config.DATABASE_URL,
    embeddedDir: path.resolve(config.rootDir, config.EMBEDDED_PG_DIR),
    embeddedPort: config.EMBEDDED_PG_PORT,
    poolSize: 30,
    freshEmbedded: config.COSELL_MODE === 'sandbox',
    logger: logger.child({ module: 'store' }),
  });
  const { pool, connectionString } = database;
  await installQueueSchema(pool);
  const metrics = new Metrics();
  const syncStats = createSyncStats({ pool, metrics, logger: logger.child({ module: 'stats' }) });
  const clouds = connectClouds({ pool, config, settings, tokenCacheKey: options.tokenCacheKey, logger });
  const { auth, referrals, crm, breakers } = clouds;
  const mapping = await finishMapping(() => crm.describeDealFields());
  for (const notice of mapping.notices) logger.warn({ file: config.MAPPING_FILE }, notice);
  let draining = false;

  // Declared before the workers start: a retried undecodable change asks the feed for its decoder.
  let changeIntake: ChangeIntake | null = null;
  const changeFeed = () => changeIntake?.feed() ?? null;
  const base = { pool, connectionString, config, crm, logger };
  const workerDeps = { ...base, referrals, mapping, breakers, changeFeed, metrics, syncStats, startedAt };
  const workers = await startWorkers({ ...workerDeps, retry: options.retry });
  const { enqueueReconcile } = workers;
  const feed = startChangeIntake({ ...base, subscribe: options.subscribe ?? true, enqueueReconcile });
  changeIntake = feed;
  const operations = createRelayOperations({
    ...{ pool, config, version: VERSION, startedAt, auth, crm, referrals, mapping, metrics, syncStats },
    breakers,
    changeIntake: feed,
    completeJob: (id) => workers.queue.utils.completeJobs([id]).then(() => undefined),
    enqueueReconcile,
    isDraining: () => draining,
  });
  const { partnerCenterCalls } = clouds;
  const gauges = { pool, crm, partnerCenterCalls: () => partnerCenterCalls, subscriber: feed.status };
  registerRelayMetrics(metrics, { ...gauges, isLeader: feed.isLeader });

  const webhookIntake = createWebhookIntake(pool, config);
  const app = createApp({
    config,
    logger: logger.child({ module: 'http' }),
    metrics,
    operations,
    verifyWebhook: (body, headers) => clouds.verifier.verify(body, headers),
    acceptDelivery: (delivery) => webhookIntake.accept(delivery),
    isDraining: () => draining,
  });
  await options.beforeListen?.({ auth });
  const { server, url } = await listenHttp(app, options.listen ?? { host: config.HOST, port: config.PORT });
  logger.info({ url, mode: config.COSELL_MODE, embeddedDatabase: database.embedded }, 'relay listening');

  let stopping: Promise<void> | null = null;
  const parts = { config, logger, webhookIntake, workers, crm, syncStats, server, database };
  const stop = () => {
    draining = true;
    return (stopping ??= stopRelay({ ...parts, changeIntake: feed }));
  };
  const { webhooks } = clouds;
  const queue = workers.queue;
  return { url, config, database, mapping, metrics, auth, referrals, webhooks, crm, operations, queue, stop };
}
