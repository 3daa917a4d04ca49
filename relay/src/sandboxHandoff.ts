import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RelayConfig } from './config.ts';
import { tokenCacheKey } from './config.ts';
import type { RelayConnectionSettings } from './connectionSettings.ts';

/*
 * The files sandbox mode keeps for itself, readable without loading the simulators (the CLI
 * imports this module in production too).
 */

/** Where sandbox mode keeps what it generates for itself: inside the checkout, never beside EMBEDDED_PG_DIR. */
export function sandboxStateDir(config: Pick<RelayConfig, 'rootDir'>): string {
  return path.resolve(config.rootDir, '.data/sandbox');
}

/** TOKEN_CACHE_KEY, or in sandbox mode a key generated once and kept in the sandbox's own folder. */
export function resolveTokenCacheKey(config: RelayConfig): Buffer {
  const configured = tokenCacheKey(config);
  if (configured) return configured;
  const dir = sandboxStateDir(config);
  const file = path.join(dir, 'token-cache.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('hex'), { mode: 0o600 });
  return key;
}

/**
 * What `npm start` in sandbox mode tells the CLI (written beside the sandbox's token key, 0600),
 * so `relay login`, `relay webhooks …` and `relay doctor` rehearse against its simulators: their
 * URLs and credentials, the certificate they serve, and the database the running relay uses.
 */
export interface SandboxHandoff {
  pid: number;
  relayUrl: string;
  databaseUrl: string;
  /** The relay's connection settings, with the certificate path pattern as its source text. */
  settings: Omit<RelayConnectionSettings, 'webhook'> & {
    webhook: Omit<RelayConnectionSettings['webhook'], 'certificatePathPattern'> & {
      certificatePathPattern: string;
    };
  };
  /** Certificates the CLI must trust to reach the simulators over HTTPS. */
  trustPem: string[];
}

export function sandboxHandoffFile(config: Pick<RelayConfig, 'rootDir' | 'PORT'>): string {
  return path.join(sandboxStateDir(config), `relay-${config.PORT}.json`);
}

/** The running sandbox's handoff, or undefined when no `npm start` in sandbox mode is running on PORT. */
export function readSandboxHandoff(
  config: Pick<RelayConfig, 'rootDir' | 'PORT'>,
): (Omit<SandboxHandoff, 'settings'> & { settings: RelayConnectionSettings }) | undefined {
  const file = sandboxHandoffFile(config);
  if (!existsSync(file)) return undefined;
  const handoff = JSON.parse(readFileSync(file, 'utf8')) as SandboxHandoff;
  try {
    process.kill(handoff.pid, 0);
  } catch {
    return undefined; // left behind by a relay that was killed
  }
  return {
    ...handoff,
    settings: {
      ...handoff.settings,
      webhook: {
        ...handoff.settings.webhook,
        certificatePathPattern: new RegExp(handoff.settings.webhook.certificatePathPattern),
      },
    },
  };
}

export function removeSandboxHandoff(config: RelayConfig): void {
  rmSync(sandboxHandoffFile(config), { force: true });
}
