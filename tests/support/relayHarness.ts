import path from 'node:path';
import { loadConfig } from '../../relay/src/config.ts';
import type { RelayConfig } from '../../relay/src/config.ts';
import { createLogger, silentLogger } from '../../relay/src/logger.ts';
import type { Logger } from '../../relay/src/logger.ts';
import { startRelay } from '../../relay/src/relay.ts';
import type { RunningRelay } from '../../relay/src/relay.ts';
import type { RetryPolicy } from '../../relay/src/jobs/retry.ts';
import { connectRelayToSandbox } from '../../relay/src/sandboxMode.ts';
import { startSandboxes } from '../../relay/sandbox/index.ts';
import type { Sandboxes, StartSandboxesOptions } from '../../relay/sandbox/index.ts';
import { createTestDatabase } from './postgres.ts';
import { waitFor } from './waitFor.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const FORCE_APP = path.join(ROOT, 'force-app');

export interface TestSystem {
  sandboxes: Sandboxes;
  relay: RunningRelay;
  config: RelayConfig;
  databaseUrl: string;
  /** Stops the relay (gracefully) and every sandbox. */
  stop(): Promise<void>;
  /** Starts a second relay process-equivalent on the same database (restart / scale-out tests). */
  startAnotherRelay(overrides?: Record<string, string>): Promise<RunningRelay>;
}

export interface TestSystemOptions {
  /** Extra settings, by config key (as env vars would give them). */
  env?: Record<string, string>;
  sandboxes?: Omit<StartSandboxesOptions, 'forceAppDir'>;
  retry?: RetryPolicy;
  subscribe?: boolean;
  /** Set COSELL_TEST_LOG=debug to see the relay's logs. */
  logger?: Logger;
}

const FAST_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 3_000 };

/**
 * A whole system for end-to-end tests: both sandboxes and a relay on a fresh database, connected
 * exactly as `npm start` connects them (signed-in delegated token, webhook registered), with the
 * relay listening on a free port. Every test file gets its own.
 */
export async function startTestSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  const logger =
    options.logger ??
    (process.env.COSELL_TEST_LOG ? createLogger({ level: process.env.COSELL_TEST_LOG }) : silentLogger());
  const databaseUrl = await createTestDatabase('e2e');
  const env = {
    COSELL_MODE: 'sandbox',
    LOG_LEVEL: 'silent',
    TOKEN_CACHE_KEY: 'a'.repeat(64),
    BATCH_WINDOW_MS: '10',
    WORKER_CONCURRENCY: '50',
    JOB_MAX_ATTEMPTS: '3',
    WORKER_STALE_SECONDS: '5',
    // No scheduled reconcile (once a year): a tick of the default 5-minute schedule inside a test
    // that counts Salesforce calls added the reconcile's queries to them. Tests reconcile by calling it.
    RECONCILE_CRON: '0 0 1 1 *',
    ...options.env,
  };
  const config = loadConfig({ env, rootDir: ROOT });
  const sandboxes = await startSandboxes({
    forceAppDir: FORCE_APP,
    logger,
    ...options.sandboxes,
    partnerCenter: { deliveryBackoffMs: 20, ...options.sandboxes?.partnerCenter },
    pubsub: { keepaliveMs: 500, ...options.sandboxes?.pubsub },
  });
  const start = (extra: Record<string, string> = {}) =>
    startRelay({
      config:
        extra && Object.keys(extra).length > 0
          ? loadConfig({ env: { ...env, ...extra }, rootDir: ROOT })
          : config,
      settings: sandboxes.relaySettings,
      logger,
      tokenCacheKey: Buffer.from(env.TOKEN_CACHE_KEY, 'hex'),
      databaseUrl,
      listen: { host: '127.0.0.1', port: 0 },
      subscribe: options.subscribe,
      retry: options.retry ?? FAST_RETRY,
    });
  const relay = await start();
  await connectRelayToSandbox(relay, sandboxes, logger, config.PC_WEBHOOK_SIGNATURE_IN_MS_HEADER);
  if (options.subscribe !== false) {
    // A fresh relay subscribes from LATEST: a seller edit made before the stream is open would only
    // be picked up by the scheduled reconcile, so tests start once it is.
    await waitFor(async () => (await relay.operations.status()).checks.subscriber.connected, {
      message: 'the Pub/Sub subscription to open',
    });
  }
  const others: RunningRelay[] = [];
  return {
    sandboxes,
    relay,
    config,
    databaseUrl,
    async startAnotherRelay(overrides) {
      const another = await start(overrides);
      others.push(another);
      return another;
    },
    async stop() {
      await Promise.allSettled([relay.stop(), ...others.map((o) => o.stop())]);
      await sandboxes.close();
    },
  };
}

export { sampleReferral } from '../../relay/sandbox/partner-center/sampleReferral.ts';
