import pino from 'pino';
import type { Logger, DestinationStream } from 'pino';
import pretty from 'pino-pretty';

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
  /** `pretty` for people, `json` lines for a log service; unset: pretty when stdout is a terminal. */
  format?: 'pretty' | 'json';
  /** Where lines go; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/**
 * pino writes every child's bindings after its parent's, so a child naming `module` again under a
 * parent that has one printed the key twice. Children whose bindings repeat a key are made from the
 * root with the merged bindings instead, the newer value winning.
 */
function uniqueBindings(root: Logger): Logger {
  // pino's children inherit from their parent object, so the original method is read once, here.
  const pinoChild = root.child as unknown as (
    this: Logger,
    bindings: pino.Bindings,
    options?: pino.ChildLoggerOptions,
  ) => Logger;
  const rootKeys = new Set(Object.keys(root.bindings()));
  const wrap = (logger: Logger): Logger => {
    const child = (bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger => {
      const inherited = logger.bindings();
      if (!Object.keys(bindings).some((key) => key in inherited))
        return wrap(pinoChild.call(logger, bindings, options));
      const merged: Record<string, unknown> = { ...inherited, ...bindings };
      for (const key of rootKeys) if (!(key in bindings)) delete merged[key];
      return wrap(pinoChild.call(root, merged, options));
    };
    Object.defineProperty(logger, 'child', { value: child, configurable: true, writable: true });
    return logger;
  };
  return wrap(root);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? (!options.destination && process.stdout.isTTY ? 'pretty' : 'json');
  // Synchronous and in this thread (not a transport worker), so the last lines before an exit are kept.
  const destination =
    format === 'pretty'
      ? pretty({
          sync: true,
          colorize: !options.destination && Boolean(process.stdout.isTTY),
          destination: options.destination ?? 1,
          ignore: 'pid,hostname,service',
          translateTime: 'SYS:HH:MM:ss.l',
        })
      : options.destination;
  const root = pino(
    {
      level: options.level ?? 'info',
      base: { service: 'cosell-relay' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
  return uniqueBindings(root);
}

/** A logger that writes nothing, for tests and tools that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
