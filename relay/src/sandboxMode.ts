import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RelayConfig } from './config.ts';
import { tokenCacheKey } from './config.ts';
import type { Logger } from './logger.ts';
import { HANDLED_EVENTS } from './partner-center/webhookEvent.ts';
import type { RunningRelay } from './relay.ts';
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
    logger: logger.child({ module: 'sandbox' }),
  });
}

/** TOKEN_CACHE_KEY, or in sandbox mode a key generated once and kept beside the embedded database. */
export function resolveTokenCacheKey(config: RelayConfig): Buffer {
  const configured = tokenCacheKey(config);
  if (configured) return configured;
  const file = path.resolve(config.rootDir, path.dirname(config.EMBEDDED_PG_DIR), 'token-cache.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  mkdirSync(path.dirname(file), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('hex'), { mode: 0o600 });
  return key;
}

/**
 * The sandbox's stand-in for `relay login`: the sandbox authority approves its user at once, so the
 * relay follows the same authorization-code flow without a browser, reading the code from the
 * redirect. The code path through MSAL is the production one.
 */
export async function signInToSandbox(relay: RunningRelay, redirectUri: string): Promise<string> {
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

/** Signs in (when the cache has no account) and points the sandbox's webhook registration at the relay. */
export async function connectRelayToSandbox(
  relay: RunningRelay,
  sandboxes: Sandboxes,
  logger: Logger,
  signatureInMsHeader = false,
): Promise<void> {
  const health = await relay.auth.tokenHealth();
  if (health.status !== 'ok') {
    const account = await signInToSandbox(relay, sandboxes.relaySettings.partnerCenter.redirectUri);
    logger.info({ account }, 'signed in to the Partner Center sandbox');
  }
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
