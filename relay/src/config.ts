import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseNotificationTargets } from './notifications/notifier.ts';
import { CRASH_POINT_PATTERN } from './crashPoint.ts';
import { ConfigError } from './errors.ts';
import { DEFAULT_EVENT_TOPIC } from './crm/salesforce/names.ts';

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
  // Resolved after parsing: unset means sandbox, except beside a DATABASE_URL (see loadConfig).
  COSELL_MODE: z.enum(['sandbox', 'production']).optional(),
  PORT: int(0, 65535).default(3000),
  SANDBOX_PORT_BASE: int(1024, 65000).default(3010),
  // Resolved after parsing: 127.0.0.1 in sandbox mode (its admin API is open), 0.0.0.0 in production.
  HOST: z.string().min(1).optional(),
  PUBLIC_URL: url.optional(),
  /** Where the `relay` CLI finds a running relay's admin API (default http://localhost:PORT). */
  RELAY_URL: url.optional(),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // Host header values the dashboard and /api answer (DNS rebinding); default loopback + PUBLIC_URL's host.
  ADMIN_ALLOWED_HOSTS: csv.optional(),
  /** Bearer token /metrics requires when set (unset: /metrics is open). */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Unset: pretty on a terminal, JSON lines otherwise (the logger decides).
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
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
  // Where notifications go: a JSON list of {name?, url, format: slack|teams|json, events: [...]}
  // (relay/src/notifications/notifier.ts). Webhook URLs are credentials: never logged.
  NOTIFICATIONS: z
    .string()
    .optional()
    .superRefine((json, context) => {
      try {
        parseNotificationTargets(json);
      } catch (error) {
        context.addIssue({
          code: 'custom',
          message: (error as Error).message.replace(/^NOTIFICATIONS:?\s*/, ''),
        });
      }
    }),
  // The partner's solution ids (SOL-…): a create naming another is refused with a clear error on
  // the record. Partner Center documents no API that lists a partner's solutions (UNCONFIRMED), so
  // the list is configured; empty accepts any well-formed id.
  PARTNER_SOLUTION_IDS: csv.default([]),
  // What a deleted CRM record does to its referral: close it (Closed/Lost, or Closed/Declined while
  // still New) with DEAL_DELETED_REASON, or leave it open. A restore re-links either way.
  DEAL_DELETED_RULE: z.enum(['close', 'keep-open']).default('close'),
  DEAL_DELETED_REASON: z.string().min(1).max(250).default('The deal was deleted in the CRM'),
  // How long before an unanswered incoming referral expires the relay warns, and when it looks.
  NOTIFY_EXPIRY_HOURS: int(1, 13 * 24).default(48),
  NOTIFY_EXPIRY_CRON: z.string().min(9).default('7 * * * *'),
  SHUTDOWN_TIMEOUT_MS: int(1000, 120000).default(25000),
  // Long enough that a live instance stalled by a database hiccup keeps its jobs; a fresh heartbeat
  // always wins, whatever the hostname and pid (containers share hostnames).
  WORKER_STALE_SECONDS: int(5, 3600).default(30),
  // A breaker opened by REQUEST_LIMIT_EXCEEDED (or a 429 without Retry-After) first probes after
  // BREAKER_PROBE_MS, doubling up to BREAKER_PROBE_MAX_MS: Salesforce does not say when its rolling
  // 24-hour window frees calls again.
  BREAKER_PROBE_MS: int(10, 3_600_000).default(5_000),
  BREAKER_PROBE_MAX_MS: int(10, 86_400_000).default(300_000),

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
  // 64 hex characters or base64 of 32 bytes are the key itself; any other random string of 32+
  // characters (what Heroku's and Render's generators make, in formats they do not pin down) is
  // hashed to one.
  TOKEN_CACHE_KEY: z
    .string()
    .min(32, 'must be 32 bytes as 64 hex characters or base64, or a random string of at least 32 characters')
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
  // The same PEM text inline, for platforms whose settings are strings (Heroku, Render).
  WEBHOOK_TRUSTED_ROOTS_PEM: z.string().min(1).optional(),
  WEBHOOK_CERT_FETCH_CA_FILE: z.string().min(1).optional(),
  WEBHOOK_CERT_FETCH_CA_PEM: z.string().min(1).optional(),
  WEBHOOK_MAX_BODY_BYTES: int(1024, 10 * 1024 * 1024).default(1024 * 1024),
  WEBHOOK_CERT_CACHE_SECONDS: int(0, 7 * 86400).default(6 * 3600),
  // UNCONFIRMED which purpose Microsoft's signing certificate names: names or dotted OIDs.
  WEBHOOK_CERT_EXTENDED_KEY_USAGES: csv.default([
    'serverAuth',
    'clientAuth',
    'codeSigning',
    'anyExtendedKeyUsage',
  ]),

  // No default: login.salesforce.com, test.salesforce.com or My Domain is a choice, not a guess.
  SF_LOGIN_URL: url.optional(),
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
  SF_EVENT_TOPIC: z.string().startsWith('/event/').default(DEFAULT_EVENT_TOPIC),
  SF_REPLAY_ON_CORRUPT: z.enum(['EARLIEST', 'LATEST']).default('EARLIEST'),
  SF_PUBSUB_BATCH_SIZE: int(1, 100).default(100),

  /** Test-only (the fault suite): the relay SIGKILLs itself at this point (relay/src/crashPoint.ts). */
  COSELL_CRASH_POINT: z
    .string()
    .regex(CRASH_POINT_PATTERN, 'must name a crash point of relay/src/crashPoint.ts, e.g. sf-write:after#2')
    .optional(),
});

export type RawConfig = z.infer<typeof schema>;

export type SettingName = keyof RawConfig;

/** Every setting the relay knows, in declaration order (deploy artefacts are checked against it). */
export const SETTING_NAMES = Object.keys(schema.shape) as SettingName[];

export interface RelayConfig extends Omit<RawConfig, 'COSELL_MODE' | 'HOST' | 'ADMIN_ALLOWED_HOSTS'> {
  COSELL_MODE: 'sandbox' | 'production';
  HOST: string;
  /** Lower-case host names (no port) the admin API answers to. */
  ADMIN_ALLOWED_HOSTS: string[];
  /** Absolute path of the repository root the relay resolves relative paths against. */
  rootDir: string;
  /** The settings given (environment or config/*.json), for the startup line. */
  explicitKeys: ReadonlySet<string>;
}

/** Keys whose values never appear in logs or error messages. */
export const SECRET_KEYS = new Set([
  'ENTRA_CLIENT_SECRET',
  'SF_CLIENT_SECRET',
  'TOKEN_CACHE_KEY',
  'DATABASE_URL',
  'ADMIN_TOKEN',
  'METRICS_TOKEN',
  'NOTIFICATIONS',
]);

/** Settings that must be present when COSELL_MODE=production (sandbox mode supplies its own). */
const REQUIRED_IN_PRODUCTION = [
  'DATABASE_URL',
  'PUBLIC_URL',
  'ADMIN_TOKEN',
  'TOKEN_CACHE_KEY',
  'ENTRA_TENANT_ID',
  'ENTRA_CLIENT_ID',
  'ENTRA_CLIENT_SECRET',
  'SF_LOGIN_URL',
  'SF_CLIENT_ID',
  'SF_CLIENT_SECRET',
] as const;

/** PEM settings that can be a file (`…_FILE`) or the text itself (`…_PEM`). */
export const PEM_SETTINGS = {
  WEBHOOK_TRUSTED_ROOTS: { file: 'WEBHOOK_TRUSTED_ROOTS_FILE', inline: 'WEBHOOK_TRUSTED_ROOTS_PEM' },
  WEBHOOK_CERT_FETCH_CA: { file: 'WEBHOOK_CERT_FETCH_CA_FILE', inline: 'WEBHOOK_CERT_FETCH_CA_PEM' },
} as const;
export type PemSetting = keyof typeof PEM_SETTINGS;
type PemSettingKey = (typeof PEM_SETTINGS)[PemSetting]['file' | 'inline'];

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

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

/**
 * The PEM text of a file-or-inline setting, or undefined when neither is set. A problem (both set,
 * unreadable file, no certificate) is pushed naming the setting at fault.
 */
export function readPemSetting(
  values: Partial<Record<PemSettingKey, string>>,
  rootDir: string,
  setting: PemSetting,
  problems: string[],
): string | undefined {
  const { file: fileKey, inline: inlineKey } = PEM_SETTINGS[setting];
  const file = values[fileKey];
  const inline = values[inlineKey];
  if (file && inline) {
    problems.push(`${inlineKey}: set either ${fileKey} or ${inlineKey}, not both`);
    return undefined;
  }
  let text: string;
  let key: string;
  if (inline) {
    // Platforms that keep settings on one line often store the newlines as \n.
    text = inline.replace(/\\n/g, '\n');
    key = inlineKey;
  } else if (file) {
    key = fileKey;
    try {
      text = readFileSync(path.resolve(rootDir, file), 'utf8');
    } catch (error) {
      problems.push(`${fileKey}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  } else return undefined;
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`${key}: ${inline ? 'holds' : `${file} holds`} no PEM certificate`);
    return undefined;
  }
  return text;
}

function hostOf(value: string): string {
  return value.trim().toLowerCase().replace(/:\d+$/, '');
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
  // Parse key by key, so a malformed value never hides another key's problem (one message, one round).
  const parsed: Record<string, unknown> = {};
  for (const [key, type] of Object.entries(schema.shape)) {
    const result = (type as z.ZodType).safeParse(raw[key]);
    if (result.success) {
      parsed[key] = result.data;
      continue;
    }
    // Name the key and say what is wrong, but never echo a secret's value.
    const shown =
      SECRET_KEYS.has(key) || raw[key] === undefined || key.endsWith('_PEM')
        ? ''
        : ` (got ${JSON.stringify(raw[key])})`;
    for (const issue of result.error.issues) problems.push(`${key}: ${issue.message}${shown}`);
  }
  const given = (key: string) => raw[key] !== undefined;
  const bad = new Set(problems.map((p) => p.split(':')[0]));

  let mode = parsed.COSELL_MODE as 'sandbox' | 'production' | undefined;
  if (!mode && given('DATABASE_URL')) {
    problems.push(
      'COSELL_MODE: required when DATABASE_URL is set: production, or sandbox to run the simulators on that database (which resets its sign-in and Pub/Sub position)',
    );
  }
  mode ??= 'sandbox';
  if (mode === 'production' && !bad.has('COSELL_MODE')) {
    for (const key of REQUIRED_IN_PRODUCTION) {
      if (!given(key)) problems.push(`${key}: required when COSELL_MODE=production`);
    }
    const { file, inline } = PEM_SETTINGS.WEBHOOK_TRUSTED_ROOTS;
    if (!given(file) && !given(inline))
      problems.push(`${file}: required when COSELL_MODE=production (or ${inline} with the PEM text)`);
  }
  for (const setting of Object.keys(PEM_SETTINGS) as PemSetting[]) {
    const { file, inline } = PEM_SETTINGS[setting];
    if (!bad.has(file) && !bad.has(inline)) readPemSetting(parsed, rootDir, setting, problems);
  }
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);

  const publicHost = parsed.PUBLIC_URL ? new URL(parsed.PUBLIC_URL as string).host : undefined;
  const allowedHosts = (parsed.ADMIN_ALLOWED_HOSTS as string[] | undefined) ?? [
    ...LOOPBACK_HOSTS,
    ...(publicHost ? [publicHost] : []),
  ];
  return Object.freeze({
    ...(parsed as RawConfig),
    COSELL_MODE: mode,
    HOST: (parsed.HOST as string | undefined) ?? (mode === 'sandbox' ? '127.0.0.1' : '0.0.0.0'),
    ADMIN_ALLOWED_HOSTS: [...new Set(allowedHosts.map(hostOf))],
    rootDir,
    explicitKeys: new Set(Object.keys(raw)),
  });
}

/** The 32-byte key that encrypts the persisted token cache. */
export function tokenCacheKey(config: RelayConfig): Buffer | undefined {
  const value = config.TOKEN_CACHE_KEY;
  if (!value) return undefined;
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return Buffer.from(value, 'base64');
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The settings given explicitly whose value differs from the default, safe to show (startup log):
 * secrets as `[set]`, PEM text as `[PEM]`.
 */
export function describeConfig(config: RelayConfig): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  const defaults = schema.safeParse({});
  const defaultOf = (key: string) =>
    defaults.success ? (defaults.data as Record<string, unknown>)[key] : undefined;
  for (const key of SETTING_NAMES) {
    if (!config.explicitKeys.has(key) || key === 'COSELL_MODE') continue;
    const value = (config as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(value) === JSON.stringify(defaultOf(key))) continue;
    shown[key] = SECRET_KEYS.has(key) ? '[set]' : key.endsWith('_PEM') ? '[PEM]' : value;
  }
  return shown;
}
