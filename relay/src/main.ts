/**
 * Entry point: config → logger → (sandboxes) → relay → signals. The only place that exits.
 * COSELL_MODE=sandbox (the default) starts local simulators of Partner Center, Entra and
 * Salesforce and points the relay at them; production reads every endpoint from config.
 */
import { describeConfig, loadConfig } from './config.ts';
import { connectionSettingsFromConfig } from './connectionSettings.ts';
import { ConfigError, describeError } from './errors.ts';
import { createLogger } from './logger.ts';
import { startRelay } from './relay.ts';
import { isDatabaseConnectionError } from './store/database.ts';
import type { RunningRelay } from './relay.ts';
import {
  connectRelayToSandbox,
  removeSandboxHandoff,
  resetSandboxState,
  resolveTokenCacheKey,
  signInToSandboxIfNeeded,
  startLocalSandboxes,
  writeSandboxHandoff,
} from './sandboxMode.ts';
import type { Sandboxes } from '../sandbox/index.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : describeError(error));
    process.exit(78);
  }
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  logger.info(
    { mode: config.COSELL_MODE, settings: describeConfig(config) },
    `starting in ${config.COSELL_MODE} mode`,
  );
  let sandboxes: Sandboxes | undefined;
  let relay: RunningRelay | undefined;
  let exiting = false;

  const shutdown = async (signal: string) => {
    if (exiting) return;
    exiting = true;
    logger.info({ signal }, 'shutting down');
    // A hard stop in case something hangs: the platform kills us at ~30 s anyway (Heroku, Render).
    setTimeout(() => {
      logger.error('graceful stop took too long; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    try {
      if (sandboxes) removeSandboxHandoff(config);
      await relay?.stop();
      await sandboxes?.close();
      process.exit(0);
    } catch (error) {
      logger.error({ err: describeError(error) }, 'error while stopping');
      process.exit(1);
    }
  };
  // graphile-worker records a job's failure or completion without awaiting it, so a PostgreSQL
  // restart at that moment surfaces here as an unhandled rejection, which would end the process.
  // A lost connection is survivable (the pool reconnects, the queue runner releases the job it
  // could not record: relay/src/store/queue.ts); anything else still ends the process, as before.
  process.on('unhandledRejection', (reason) => {
    if (isDatabaseConnectionError(reason)) {
      logger.warn({ err: describeError(reason) }, 'a database call nobody awaited lost its connection');
      return;
    }
    logger.fatal({ err: describeError(reason) }, 'unhandled rejection');
    process.exit(1);
  });
  // An end nobody asked for says so: nothing here should let the event loop run dry.
  process.on('beforeExit', (code) => {
    if (!exiting) logger.error({ code }, 'the event loop emptied; the process is ending');
  });
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    let settings;
    if (config.COSELL_MODE === 'sandbox') {
      if (config.DATABASE_URL) await resetSandboxState(config.DATABASE_URL, logger);
      sandboxes = await startLocalSandboxes(config, logger);
      settings = sandboxes.relaySettings;
    } else {
      settings = connectionSettingsFromConfig(config);
    }
    const redirectUri = settings.partnerCenter.redirectUri;
    relay = await startRelay({
      config,
      settings,
      logger,
      tokenCacheKey: resolveTokenCacheKey(config),
      beforeListen: sandboxes ? ({ auth }) => signInToSandboxIfNeeded(auth, redirectUri, logger) : undefined,
    });
    if (sandboxes) {
      await connectRelayToSandbox(relay, sandboxes, logger, config.PC_WEBHOOK_SIGNATURE_IN_MS_HEADER);
      writeSandboxHandoff(config, sandboxes, relay);
      logger.info(
        {
          dashboard: `http://localhost:${config.PORT}/`,
          partnerCenter: sandboxes.partnerCenter.url,
          salesforce: sandboxes.salesforce.url,
        },
        'sandbox mode ready: try `npm run demo`',
      );
    }
  } catch (error) {
    if (error instanceof ConfigError) console.error(error.message);
    else logger.fatal({ err: describeError(error) }, 'relay failed to start');
    await relay?.stop().catch(() => undefined);
    await sandboxes?.close().catch(() => undefined);
    process.exit(error instanceof ConfigError ? 78 : 1);
  }
}

void main();
