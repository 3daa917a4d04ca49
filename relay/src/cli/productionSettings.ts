import { loadConfig } from '../config.ts';
import type { RelayConfig } from '../config.ts';
import { connectionSettingsFromConfig } from '../connectionSettings.ts';
import type { RelayConnectionSettings } from '../connectionSettings.ts';
import { createLogger } from '../logger.ts';
import type { Logger } from '../logger.ts';
import { CliError } from './cliErrors.ts';

/**
 * Settings for commands that talk to Partner Center / Entra themselves. Sandbox mode cannot: its
 * simulated Partner Center and Entra live inside the `npm start` process, which signs in and
 * registers its webhook on its own.
 */
export function productionSettings(sandboxNote: string): {
  config: Readonly<RelayConfig>;
  settings: RelayConnectionSettings;
} {
  const config = loadConfig();
  if (config.COSELL_MODE === 'sandbox') {
    throw new CliError(
      `not available in sandbox mode (COSELL_MODE=sandbox): ${sandboxNote} Set COSELL_MODE=production with the ENTRA_*, DATABASE_URL and TOKEN_CACHE_KEY settings to use the real Partner Center.`,
    );
  }
  return { config, settings: connectionSettingsFromConfig(config) };
}

/** Library warnings go to stderr, so stdout stays the command's own output. */
export function cliLogger(config: Pick<RelayConfig, 'LOG_LEVEL'>): Logger {
  const level = config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL;
  return createLogger({ level, destination: process.stderr });
}
