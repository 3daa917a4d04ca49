import pino from 'pino';
import type { Logger, DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths redacted from every log line. Redaction is configuration, not discipline: any object
 * logged with one of these keys at these depths loses its value.
 */
export const REDACTED_PATHS = [
  'password',
  'secret',
  'clientSecret',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'authorization',
  'token',
  'tokenCacheKey',
  'databaseUrl',
  'connectionString',
  'adminToken',
  'DATABASE_URL',
  'ADMIN_TOKEN',
  'ENTRA_CLIENT_SECRET',
  'SF_CLIENT_SECRET',
  'TOKEN_CACHE_KEY',
  '*.connectionString',
  '*.adminToken',
  '*.DATABASE_URL',
  '*.ADMIN_TOKEN',
  '*.ENTRA_CLIENT_SECRET',
  '*.SF_CLIENT_SECRET',
  '*.TOKEN_CACHE_KEY',
  '*.*.clientSecret',
  '*.*.accessToken',
  '*.*.refreshToken',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  '*.authorization',
  '*.token',
  '*.tokenCacheKey',
  '*.databaseUrl',
  'headers.authorization',
  'headers["x-ms-signature"]',
  'req.headers.authorization',
  'req.headers["x-ms-signature"]',
  'config.*.clientSecret',
  'config.*.tokenCacheKey',
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'cosell-relay' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

/** A logger that writes nothing, for tests and tools that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
