import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

/**
 * The only reader of process.env and config/*.json. Every setting has one name, used both as the
 * environment variable and as the key in a config/*.json file (environment wins). The result is
 * frozen; an invalid value stops the relay with one error that names every bad key.
 */

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const csv = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));
const url = z.string().url();

const schema = z.object({
  COSELL_MODE: z.enum(['sandbox', 'production']).default('sandbox'),
  PORT: int(0, 65535).default(3000),
  SANDBOX_PORT_BASE: int(1024, 65000).default(3010),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: url.optional(),
  /** Where the `relay` CLI finds a running relay's admin API (default http://localhost:PORT). */
  RELAY_URL: url.optional(),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Bearer token /metrics requires when set (unset: /metrics is open). */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAPPING_FILE: z.string().min(1).default('config/mapping.json'),
  FORCE_APP_DIR: z.string().min(1).default('force-app'),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  EMBEDDED_PG_DIR: z.string().min(1).default('.data/postgres'),
  EMBEDDED_PG_PORT: int(1, 65535).default(54329),

  WORKER_CONCURRENCY: int(1, 500).default(200),
  JOB_MAX_ATTEMPTS: int(1, 100).default(10),
  JOB_RETRIES_IN_PLACE: int(0, 10).default(3),
  BATCH_WINDOW_MS: int(0, 5000).default(15),
  BATCH_MAX_WAIT_MS: int(0, 10000).default(200),
  WRITE_BACK_WINDOW_MS: int(0, 10000).default(250),
  COALESCE_WINDOW_MS: int(0, 60000).default(250),
  RECONCILE_CRON: z.string().min(9).default('*/5 * * * *'),
  RECONCILE_OVERLAP_SECONDS: int(0, 86400).default(120),
  SHUTDOWN_TIMEOUT_MS: int(1000, 120000).default(25000),
  // Long enough that a live instance stalled by a database hiccup keeps its jobs; a killed one on the
  // same host is recognised at once by its dead pid, elsewhere after this long.
  WORKER_STALE_SECONDS: int(5, 3600).default(30),

  PC_REFERRALS_BASE_URL: url.default('https://api.partner.microsoft.com'),
  PC_WEBHOOK_API_BASE_URL: url.default('https://api.partnercenter.microsoft.com'),
  // UNCONFIRMED in the contract (user_impersonation vs .default); .default makes MSAL refresh on
  // every call because Entra answers with the granted scope, so user_impersonation is the default.
  PC_REFERRALS_SCOPE: z.string().min(1).default('https://api.partner.microsoft.com/user_impersonation'),
  PC_WEBHOOK_SCOPE: z.string().min(1).default('https://api.partnercenter.microsoft.com/.default'),
  PC_WEBHOOK_SIGNATURE_IN_MS_HEADER: bool.default(false),
  ENTRA_AUTHORITY_HOST: url.default('https://login.microsoftonline.com'),
  ENTRA_TENANT_ID: z.string().min(1).optional(),
  ENTRA_CLIENT_ID: z.string().min(1).optional(),
  ENTRA_CLIENT_SECRET: z.string().min(1).optional(),
  ENTRA_KNOWN_AUTHORITIES: csv.default([]),
  ENTRA_REDIRECT_URI: url.optional(),
  TOKEN_CACHE_KEY: z
    .string()
    .regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/, 'must be 32 bytes as 64 hex characters or base64')
    .optional(),

  WEBHOOK_CERT_HOSTS: csv.default(['3psostorageacct.blob.core.windows.net']),
  WEBHOOK_CERT_PATH_PATTERN: z
    .string()
    .default('^/cert/[A-Za-z0-9._-]+\\.cer$')
    .refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression'),
  WEBHOOK_TRUSTED_ROOTS_FILE: z.string().min(1).optional(),
  WEBHOOK_CERT_FETCH_CA_FILE: z.string().min(1).optional(),
  WEBHOOK_MAX_BODY_BYTES: int(1024, 10 * 1024 * 1024).default(1024 * 1024),
  WEBHOOK_CERT_CACHE_SECONDS: int(0, 7 * 86400).default(6 * 3600),
  // UNCONFIRMED which purpose Microsoft's signing certificate names: names or dotted OIDs.
  WEBHOOK_CERT_EXTENDED_KEY_USAGES: csv.default([
    'serverAuth',
    'clientAuth',
    'codeSigning',
    'anyExtendedKeyUsage',
  ]),

  SF_LOGIN_URL: url.default('https://login.salesforce.com'),
  SF_CLIENT_ID: z.string().min(1).optional(),
  SF_CLIENT_SECRET: z.string().min(1).optional(),
  SF_API_VERSION: z
    .string()
    .regex(/^\d{2}\.0$/, 'must look like 62.0')
    .default('62.0'),
  SF_PUBSUB_ENDPOINT: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'must be host:port')
    .default('api.pubsub.salesforce.com:7443'),
  SF_PUBSUB_TLS: bool.default(true),
  SF_EVENT_TOPIC: z.string().startsWith('/event/').default('/event/Referral_Sync__e'),
  SF_REPLAY_ON_CORRUPT: z.enum(['EARLIEST', 'LATEST']).default('EARLIEST'),
  SF_PUBSUB_BATCH_SIZE: int(1, 100).default(100),
});

export type RawConfig = z.infer<typeof schema>;

export interface RelayConfig extends RawConfig {
  /** Absolute path of the repository root the relay resolves relative paths against. */
  rootDir: string;
}

/** Keys whose values never appear in logs or error messages. */
export const SECRET_KEYS = new Set([
  'ENTRA_CLIENT_SECRET',
  'SF_CLIENT_SECRET',
  'TOKEN_CACHE_KEY',
  'DATABASE_URL',
  'ADMIN_TOKEN',
  'METRICS_TOKEN',
]);

/** Settings that must be present when COSELL_MODE=production (sandbox mode supplies its own). */
const REQUIRED_IN_PRODUCTION = [
  'PUBLIC_URL',
  'ENTRA_TENANT_ID',
  'ENTRA_CLIENT_ID',
  'ENTRA_CLIENT_SECRET',
  'TOKEN_CACHE_KEY',
  'WEBHOOK_TRUSTED_ROOTS_FILE',
  'ADMIN_TOKEN',
  'SF_LOGIN_URL',
  'SF_CLIENT_ID',
  'SF_CLIENT_SECRET',
] as const;

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Folder holding config/*.json; defaults to <rootDir>/config. */
  configDir?: string;
  rootDir?: string;
}

function readConfigFiles(configDir: string, problems: string[]): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  if (!existsSync(configDir)) return merged;
  const files = readdirSync(configDir)
    .filter((f) => f.endsWith('.json') && f !== 'mapping.json' && f !== 'project-scratch-def.json')
    .sort();
  for (const file of files) {
    const full = path.join(configDir, file);
    try {
      const parsed: unknown = JSON.parse(readFileSync(full, 'utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        problems.push(`${file}: must hold a JSON object of settings`);
        continue;
      }
      for (const [key, value] of Object.entries(parsed)) {
        if (key.startsWith('$')) continue;
        if (!(key in schema.shape)) problems.push(`${file}: ${key}: unknown setting`);
        else merged[key] = value;
      }
    } catch (error) {
      problems.push(`${file}: not valid JSON (${(error as Error).message})`);
    }
  }
  return merged;
}

export function loadConfig(options: LoadConfigOptions = {}): Readonly<RelayConfig> {
  const env = options.env ?? process.env;
  const rootDir = path.resolve(options.rootDir ?? process.cwd());
  const configDir = options.configDir ?? path.join(rootDir, 'config');
  const problems: string[] = [];
  const raw: Record<string, unknown> = readConfigFiles(configDir, problems);
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.join('.');
      // Name the key and say what is wrong, but never echo a secret's value.
      const shown =
        SECRET_KEYS.has(key) || raw[key] === undefined ? '' : ` (got ${JSON.stringify(raw[key])})`;
      problems.push(`${key}: ${issue.message}${shown}`);
    }
  }
  if (problems.length === 0 && result.success && result.data.COSELL_MODE === 'production') {
    for (const key of REQUIRED_IN_PRODUCTION) {
      if (result.data[key] === undefined || (key === 'SF_LOGIN_URL' && raw[key] === undefined)) {
        problems.push(`${key}: required when COSELL_MODE=production`);
      }
    }
    if (!result.data.DATABASE_URL) problems.push('DATABASE_URL: required when COSELL_MODE=production');
  }
  if (problems.length > 0 || !result.success) throw new ConfigError('CONFIG_INVALID', problems);
  return Object.freeze({ ...result.data, rootDir });
}

/** The 32-byte key that encrypts the persisted token cache. */
export function tokenCacheKey(config: RelayConfig): Buffer | undefined {
  const value = config.TOKEN_CACHE_KEY;
  if (!value) return undefined;
  return /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
}

/** Config values safe to show (dashboard, startup log): secrets replaced by whether they are set. */
export function describeConfig(config: RelayConfig): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    shown[key] = SECRET_KEYS.has(key) ? (value ? '[set]' : '[not set]') : value;
  }
  return shown;
}
