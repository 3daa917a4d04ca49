import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../relay/src/logger.ts';
import { entraAuthFromSettings } from '../../relay/src/partner-center/entraAuth.ts';
import { createWebhookRegistrationClient } from '../../relay/src/partner-center/webhookRegistrationClient.ts';
import { openCommandPool } from '../../relay/src/store/database.ts';
import { migrate } from '../../relay/src/store/migrate.ts';
import { createTokenCacheStore } from '../../relay/src/store/tokenCache.ts';
import { signInToSandbox } from '../../relay/src/sandboxMode.ts';
import { HANDLED_EVENTS } from '../../relay/src/partner-center/webhookEvent.ts';
import pg from 'pg';
import { startSandboxes } from '../../relay/sandbox/index.ts';
import { sandboxProductionEnv } from '../../relay/sandbox/productionEnv.ts';
import type { Sandboxes } from '../../relay/sandbox/index.ts';
import { freePort } from './ports.ts';
import { createTestDatabase } from './postgres.ts';
import { FORCE_APP, ROOT } from './relayHarness.ts';
import { waitFor } from './waitFor.ts';

/**
 * The relay as a child process, the way it runs in production: `node relay/src/main.ts` with
 * COSELL_MODE=production and every endpoint, credential and trust anchor given through the
 * environment. Only the URLs point at the test's in-process sandboxes, which is the proof that
 * the production code paths run against them unchanged. Used by the kill -9, SIGTERM and
 * refuse-to-start tests.
 */

export const NODE = path.join(ROOT, 'node_modules/.bin/node');
export const TOKEN_CACHE_KEY = 'b'.repeat(64);
export const ADMIN_TOKEN = 'child-relay-admin-token';

/** Temp files for the PEM settings; removed by `dispose`. */
export function tempDir(label: string): {
  dir: string;
  write(name: string, text: string): string;
  dispose(): void;
} {
  const dir = mkdtempSync(path.join(os.tmpdir(), `cosell-${label}-`));
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The production environment for a relay that talks to `sandboxes`: what an operator would put in
 * Heroku config vars, with the sandbox's URLs and credentials instead of the real ones.
 */
export function productionEnv(
  sandboxes: Sandboxes,
  options: { databaseUrl: string; port: number; files: ReturnType<typeof tempDir> },
): Record<string, string> {
  return {
    ...sandboxProductionEnv(sandboxes, {
      databaseUrl: options.databaseUrl,
      port: options.port,
      writeFile: options.files.write,
      tokenCacheKey: TOKEN_CACHE_KEY,
      adminToken: ADMIN_TOKEN,
    }),
    LOG_LEVEL: process.env.COSELL_TEST_LOG ?? 'info',
    BATCH_WINDOW_MS: '10',
    WORKER_STALE_SECONDS: '5',
    RECONCILE_CRON: '0 0 1 1 *',
  };
}

/**
 * `relay login` and `relay webhooks register`, done in-process against the same database and key:
 * the stored (encrypted) token cache and the webhook registration are what the child relies on.
 * Only the sign-in and the registration run here, as the two commands do: no queue runner, so the
 * suite's own process never works jobs beside the relays it tests (and a PostgreSQL restart the
 * fault suite makes meanwhile fails the attempt instead of ending the suite).
 */
export async function signInAndRegister(
  sandboxes: Sandboxes,
  options: { databaseUrl: string; webhookUrl: string },
): Promise<void> {
  const pc = sandboxes.relaySettings.partnerCenter;
  const pool = openCommandPool(options.databaseUrl);
  try {
    await migrate(pool);
    const auth = entraAuthFromSettings(
      pc,
      createTokenCacheStore(pool, Buffer.from(TOKEN_CACHE_KEY, 'hex')),
      silentLogger(),
    );
    await signInToSandbox({ auth }, pc.redirectUri);
    const webhooks = createWebhookRegistrationClient({
      baseUrl: pc.webhookApiBaseUrl,
      getToken: () => auth.getAppToken(),
      logger: silentLogger(),
    });
    await webhooks.register({
      url: options.webhookUrl,
      events: [...HANDLED_EVENTS],
      signatureInMsHeader: false,
    });
  } finally {
    await pool.end();
  }
}

export interface RelayProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until /healthz answers. */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends a signal; SIGKILL is the crash. */
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts `node relay/src/main.ts`, or `command` when given (e.g. the Procfile's `npm start`).
 * A wrapper command runs in its own process group and signals go to the whole group, as a
 * platform's process manager sends them (Heroku signals every process of the dyno), so the relay
 * under npm gets SIGTERM itself and a SIGKILL leaves nothing behind.
 */
export function spawnRelay(
  env: Record<string, string>,
  command: string[] = [NODE, 'relay/src/main.ts'],
): RelayProcess {
  const wrapped = command[0] !== NODE;
  const child = spawn(command[0], command.slice(1), {
    cwd: ROOT,
    // Only what the relay is given: nothing inherited from the test runner's own settings.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: wrapped,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close' waits for the output pipes too, which a wrapper's relay holds until it has exited.
    child.once(wrapped ? 'close' : 'exit', (code, signal) => resolve({ code, signal }));
  });
  let ended = false;
  void exited.then(() => (ended = true));
  const url = `http://127.0.0.1:${env.PORT}`;
  return {
    child,
    url,
    output: () => output,
    exited,
    async ready(timeoutMs = 20_000) {
      const answered = waitFor(
        async () => {
          const response = await fetch(`${url}/healthz`);
          return response.ok;
        },
        { timeoutMs, intervalMs: 50, message: 'the child relay to answer /healthz' },
      );
      const died = exited.then(({ code, signal }) => {
        throw new Error(`the relay exited during start (${code ?? signal})`);
      });
      try {
        await Promise.race([answered, died]);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- relay output ---\n${output}`, { cause: error });
      } finally {
        died.catch(() => undefined);
        answered.catch(() => undefined);
      }
    },
    kill(signal) {
      if (ended) return;
      if (wrapped && child.pid) process.kill(-child.pid, signal);
      else child.kill(signal);
    },
  };
}

export interface ProductionFixture {
  sandboxes: Sandboxes;
  env: Record<string, string>;
  /** The child relay's database, for assertions on jobs and links. */
  db: pg.Pool;
  opportunityOf(referralId: string): Record<string, unknown> | undefined;
  dispose(): Promise<void>;
}

/**
 * Everything a production child relay needs before it is spawned: sandboxes, a fresh database with
 * the sign-in stored and the webhook registered to the port the child will listen on, and its
 * environment. `dispose` tears it down (kill the child first).
 */
export async function startProductionFixture(
  label: string,
  options: { https?: boolean } = {},
): Promise<ProductionFixture> {
  const sandboxes = await startSandboxes({
    forceAppDir: FORCE_APP,
    partnerCenter: { deliveryBackoffMs: 20 },
    https: options.https,
  });
  const files = tempDir(label);
  const databaseUrl = await createTestDatabase(label);
  const port = await freePort();
  const env = productionEnv(sandboxes, { databaseUrl, port, files });
  await signInAndRegister(sandboxes, {
    databaseUrl,
    webhookUrl: `http://127.0.0.1:${port}/webhooks/partner-center`,
  });
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  return {
    sandboxes,
    env,
    db,
    opportunityOf: (referralId) =>
      sandboxes.salesforce.store.findBy('Opportunity', 'Referral_Identifier__c', referralId)[0],
    async dispose() {
      await db.end();
      await sandboxes.close();
      files.dispose();
    },
  };
}
