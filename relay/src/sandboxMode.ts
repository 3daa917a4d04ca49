import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RelayConfig } from './config.ts';
import { sandboxHandoffFile, sandboxStateDir } from './sandboxHandoff.ts';
import type { SandboxHandoff } from './sandboxHandoff.ts';
import type { Logger } from './logger.ts';
import { HANDLED_EVENTS } from './partner-center/webhookEvent.ts';
import { REPLAY_CHECKPOINT } from './intake.ts';
import type { RunningRelay } from './relay.ts';
import { deleteCheckpoint } from './store/checkpoints.ts';
import { openCommandPool } from './store/database.ts';
import { migrate } from './store/migrate.ts';
import { clearTokenCaches } from './store/tokenCache.ts';
import type { Sandboxes } from '../sandbox/index.ts';

/** Fixed sandbox ports on a laptop, so `npm run demo` (another process) finds them. */
export function sandboxPorts(config: RelayConfig) {
  const base = config.SANDBOX_PORT_BASE;
  return {
    partnerCenter: base,
    partnerCenterCertificates: base + 1,
    entra: base + 2,
    salesforce: base + 3,
    pubsub: base + 4,
  };
}

export async function startLocalSandboxes(config: RelayConfig, logger: Logger): Promise<Sandboxes> {
  // Loaded here, not at the top: production imports this module too, and must not load the
  // simulators (nor node-forge, which only their PKI uses).
  const { startSandboxes } = await import('../sandbox/index.ts');
  return startSandboxes({
    forceAppDir: path.resolve(config.rootDir, config.FORCE_APP_DIR),
    ports: sandboxPorts(config),
    // With sandbox mode's other files, so a relay in another terminal can trust the sandboxes with
    // NODE_EXTRA_CA_CERTS=.data/sandbox/sandbox-ca.pem (a new CA every start).
    caFile: path.join(sandboxStateDir(config), 'sandbox-ca.pem'),
    logger: logger.child({ module: 'sandbox' }),
  });
}

/**
 * Sandbox mode on an external database (COSELL_MODE=sandbox with DATABASE_URL): the simulated
 * Entra and Pub/Sub start empty on every run, so the previous run's tokens and replay id point at
 * nothing; the tokens would even be refused (HTTP 401 at the webhook registration). Forget both.
 * The embedded database needs none of this: sandbox mode starts it empty.
 */
export async function resetSandboxState(databaseUrl: string, logger: Logger): Promise<void> {
  const pool = openCommandPool(databaseUrl, 1);
  try {
    await migrate(pool);
    await clearTokenCaches(pool);
    await deleteCheckpoint(pool, REPLAY_CHECKPOINT);
    logger.info("forgot the previous sandbox run's sign-in and Pub/Sub position in DATABASE_URL");
  } finally {
    await pool.end();
  }
}

/**
 * The sandbox's stand-in for `relay login`: the sandbox authority approves its user at once, so the
 * relay follows the same authorization-code flow without a browser, reading the code from the
 * redirect. The code path through MSAL is the production one.
 */
export async function signInToSandbox(
  relay: Pick<RunningRelay, 'auth'>,
  redirectUri: string,
): Promise<string> {
  const state = randomBytes(8).toString('hex');
  const url = await relay.auth.getAuthCodeUrl(redirectUri, state);
  const response = await fetch(url, { redirect: 'manual' });
  const location = response.headers.get('location');
  if (!location) throw new Error(`Sandbox sign-in did not redirect (HTTP ${response.status})`);
  const back = new URL(location);
  const code = back.searchParams.get('code');
  if (!code || back.searchParams.get('state') !== state)
    throw new Error('Sandbox sign-in returned no code or a wrong state');
  const result = await relay.auth.redeemCode(code, redirectUri);
  return result.account;
}

/** Signs in at the sandbox authority when the token cache has no working sign-in. */
export async function signInToSandboxIfNeeded(
  auth: RunningRelay['auth'],
  redirectUri: string,
  logger: Logger,
): Promise<void> {
  const health = await auth.tokenHealth();
  if (health.status === 'ok') return;
  const account = await signInToSandbox({ auth }, redirectUri);
  logger.info({ account }, 'signed in to the Partner Center sandbox');
}

/** Signs in (when the cache has no working sign-in) and points the sandbox's webhook registration at the relay. */
export async function connectRelayToSandbox(
  relay: RunningRelay,
  sandboxes: Sandboxes,
  logger: Logger,
  signatureInMsHeader = false,
): Promise<void> {
  await signInToSandboxIfNeeded(relay.auth, sandboxes.relaySettings.partnerCenter.redirectUri, logger);
  const { replaced } = await relay.webhooks.register({
    url: `${relay.url}/webhooks/partner-center`,
    events: [...HANDLED_EVENTS],
    signatureInMsHeader,
  });
  logger.info(
    { url: `${relay.url}/webhooks/partner-center`, replaced },
    'webhook registered with the Partner Center sandbox',
  );
}

export function writeSandboxHandoff(config: RelayConfig, sandboxes: Sandboxes, relay: RunningRelay): string {
  const settings = sandboxes.relaySettings;
  const handoff: SandboxHandoff = {
    pid: process.pid,
    relayUrl: relay.url,
    databaseUrl: relay.database.connectionString,
    settings: {
      ...settings,
      webhook: {
        ...settings.webhook,
        certificatePathPattern: settings.webhook.certificatePathPattern.source,
      },
    },
    trustPem: [sandboxes.entra.certificatePem],
  };
  const file = sandboxHandoffFile(config);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(handoff, null, 2), { mode: 0o600 });
  return file;
}

export { removeSandboxHandoff, resolveTokenCacheKey } from './sandboxHandoff.ts';
