import tls from 'node:tls';
import { loadConfig, tokenCacheKey } from '../config.ts';
import type { RelayConfig } from '../config.ts';
import { connectionSettingsFromConfig } from '../connectionSettings.ts';
import type { RelayConnectionSettings } from '../connectionSettings.ts';
import { createLogger } from '../logger.ts';
import type { Logger } from '../logger.ts';
import { readSandboxHandoff, resolveTokenCacheKey } from '../sandboxHandoff.ts';
import { CliError } from './cliErrors.ts';

/** Where `login`, `webhooks` and `doctor` connect, and what they store the sign-in with. */
export interface CommandSettings {
  config: Readonly<RelayConfig>;
  settings: RelayConnectionSettings;
  /** True when rehearsing against the simulators of a running sandbox `npm start`. */
  sandbox: boolean;
  databaseUrl: string | undefined;
  tokenKey: Buffer | undefined;
  /** The relay's public base URL (sandbox: the running relay's own address). */
  publicUrl: string | undefined;
}

/**
 * Production: the relay's own settings. Sandbox mode: the simulators of the `npm start` running on
 * PORT, which wrote where they are (and the database it uses) to `.data/sandbox/relay-<PORT>.json`;
 * so every command can be rehearsed before it is run against the real tenant.
 */
export function commandSettings(): CommandSettings {
  const config = loadConfig();
  if (config.COSELL_MODE === 'production') {
    return {
      config,
      settings: connectionSettingsFromConfig(config),
      sandbox: false,
      databaseUrl: config.DATABASE_URL,
      tokenKey: tokenCacheKey(config),
      publicUrl: config.PUBLIC_URL,
    };
  }
  const handoff = readSandboxHandoff(config);
  if (!handoff) {
    throw new CliError(
      `sandbox mode: no \`npm start\` in sandbox mode is running on PORT ${config.PORT} to rehearse against. Start it first (same PORT), or set COSELL_MODE=production with the ENTRA_*, DATABASE_URL and TOKEN_CACHE_KEY settings to use the real Partner Center.`,
    );
  }
  // The simulators serve HTTPS from their own certificate; this process trusts it as `npm start` does.
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), ...handoff.trustPem]);
  return {
    config,
    settings: handoff.settings,
    sandbox: true,
    databaseUrl: handoff.databaseUrl,
    tokenKey: resolveTokenCacheKey(config),
    publicUrl: handoff.relayUrl,
  };
}

/** Library warnings go to stderr, so stdout stays the command's own output. */
export function cliLogger(config: Pick<RelayConfig, 'LOG_LEVEL'>): Logger {
  const level = config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL;
  return createLogger({ level, format: 'json', destination: process.stderr });
}
