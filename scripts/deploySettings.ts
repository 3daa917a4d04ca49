/**
 * The deploy artefacts' view of every setting config.ts defines: what it means and how a platform
 * sets it. `npm run deploy:generate` writes app.json (Heroku), render.yaml (Render) and
 * .env.example (a container's --env-file) from it; `npm test` fails while they are stale or name a
 * setting config.ts does not know. A setting added to config.ts without an entry here fails the
 * typecheck (the table is keyed by SettingName).
 */
import type { SettingName } from '../relay/src/config.ts';

export type Deploy =
  /** Given by the operator; the relay refuses to start in production without it. */
  | { kind: 'required'; example?: string }
  /** A random secret the platform generates. */
  | { kind: 'generated' }
  /** Set by the platform's PostgreSQL add-on or database. */
  | { kind: 'database' }
  /** Always this value in a deployment. */
  | { kind: 'fixed'; value: string }
  /** Optional: the relay's default applies when unset. */
  | { kind: 'optional'; default?: string };

export interface SettingDoc {
  description: string;
  deploy: Deploy;
}

export const SETTINGS: Record<SettingName, SettingDoc> = {
  COSELL_MODE: {
    description: 'production: the real Partner Center, Entra and Salesforce',
    deploy: { kind: 'fixed', value: 'production' },
  },
  PORT: { description: 'HTTP port (the platform sets it)', deploy: { kind: 'optional', default: '3000' } },
  SANDBOX_PORT_BASE: {
    description: 'First of five ports for the local simulators (sandbox mode only)',
    deploy: { kind: 'optional', default: '3010' },
  },
  HOST: {
    description: 'Listen address (production 0.0.0.0, sandbox 127.0.0.1)',
    deploy: { kind: 'optional' },
  },
  PUBLIC_URL: {
    description:
      "The relay's public https base URL; the webhook is registered at PUBLIC_URL/webhooks/partner-center",
    deploy: { kind: 'required', example: 'https://cosell-relay.example.com' },
  },
  RELAY_URL: {
    description: 'Where the relay CLI finds the running relay (default http://localhost:PORT)',
    deploy: { kind: 'optional' },
  },
  ADMIN_TOKEN: {
    description:
      'Guards the dashboard and /api (Bearer token or HTTP Basic password), at least 16 characters',
    deploy: { kind: 'generated' },
  },
  ADMIN_ALLOWED_HOSTS: {
    description:
      "Host names the dashboard and /api answer (default: localhost, 127.0.0.1, [::1] and PUBLIC_URL's host)",
    deploy: { kind: 'optional' },
  },
  LOG_LEVEL: {
    description: 'pino level: fatal, error, warn, info, debug, trace or silent',
    deploy: { kind: 'optional', default: 'info' },
  },
  LOG_FORMAT: {
    description: 'json (one line per entry) or pretty; default pretty on a terminal, json otherwise',
    deploy: { kind: 'optional' },
  },
  MAPPING_FILE: {
    description: 'Field mapping (ships with the code)',
    deploy: { kind: 'optional', default: 'config/mapping.json' },
  },
  FORCE_APP_DIR: {
    description: 'The Salesforce package source the mapping is validated against (ships with the code)',
    deploy: { kind: 'optional', default: 'force-app' },
  },
  DATABASE_URL: {
    description: 'PostgreSQL connection string (set by the add-on)',
    deploy: { kind: 'database' },
  },
  EMBEDDED_PG_DIR: {
    description: 'Data folder of the embedded PostgreSQL (only without DATABASE_URL)',
    deploy: { kind: 'optional', default: '.data/postgres' },
  },
  EMBEDDED_PG_PORT: {
    description: 'Port of the embedded PostgreSQL (only without DATABASE_URL)',
    deploy: { kind: 'optional', default: '54329' },
  },
  WORKER_CONCURRENCY: {
    description: 'Jobs running at once per instance',
    deploy: { kind: 'optional', default: '200' },
  },
  JOB_MAX_ATTEMPTS: {
    description: 'Queue attempts per job before it becomes a dead letter',
    deploy: { kind: 'optional', default: '10' },
  },
  JOB_RETRIES_IN_PLACE: {
    description: 'Quick retries inside one attempt',
    deploy: { kind: 'optional', default: '3' },
  },
  BATCH_WINDOW_MS: {
    description: 'Quiet time a Salesforce call waits for company before the batched call',
    deploy: { kind: 'optional', default: '15' },
  },
  BATCH_MAX_WAIT_MS: {
    description: 'Longest a batch keeps filling during a burst',
    deploy: { kind: 'optional', default: '200' },
  },
  WRITE_BACK_WINDOW_MS: {
    description: 'Quiet window for outbound write-backs',
    deploy: { kind: 'optional', default: '250' },
  },
  COALESCE_WINDOW_MS: {
    description: 'Repeated changes to one record within this window become one sync',
    deploy: { kind: 'optional', default: '250' },
  },
  RECONCILE_CRON: {
    description: 'Reconcile schedule (cron)',
    deploy: { kind: 'optional', default: '*/5 * * * *' },
  },
  RECONCILE_OVERLAP_SECONDS: {
    description: 'How far before the last watermark a reconcile looks',
    deploy: { kind: 'optional', default: '120' },
  },
  PARTNER_SOLUTION_IDS: {
    description:
      "The partner's solution ids a new referral may name (comma-separated); empty accepts any SOL-… id",
    deploy: { kind: 'optional' },
  },
  DEAL_DELETED_RULE: {
    description:
      'What a deleted CRM record does to its referral: close (Closed/Lost with the reason) or keep-open',
    deploy: { kind: 'optional', default: 'close' },
  },
  DEAL_DELETED_REASON: {
    description:
      'The statusReason Partner Center shows for a referral closed because its CRM record was deleted',
    deploy: { kind: 'optional', default: 'The deal was deleted in the CRM' },
  },
  NOTIFICATIONS: {
    description:
      'Notification receivers: JSON list of {name, url, format: slack|teams|json, events} (a secret)',
    deploy: { kind: 'optional' },
  },
  NOTIFY_EXPIRY_HOURS: {
    description: 'Warn this many hours before an unanswered incoming referral expires',
    deploy: { kind: 'optional', default: '48' },
  },
  NOTIFY_EXPIRY_CRON: {
    description: 'When the expiry warning scan runs (cron)',
    deploy: { kind: 'optional', default: '7 * * * *' },
  },
  SHUTDOWN_TIMEOUT_MS: {
    description: 'Graceful stop budget',
    deploy: { kind: 'optional', default: '25000' },
  },
  WORKER_STALE_SECONDS: {
    description: 'A worker pool without a heartbeat this long is presumed dead',
    deploy: { kind: 'optional', default: '30' },
  },
  BREAKER_PROBE_MS: {
    description: 'While a Salesforce API-limit breaker is open, the first wait before one probe call',
    deploy: { kind: 'optional', default: '5000' },
  },
  BREAKER_PROBE_MAX_MS: {
    description: 'The longest wait between probe calls while a Salesforce API-limit breaker stays open',
    deploy: { kind: 'optional', default: '300000' },
  },
  METRICS_TOKEN: {
    description: 'Bearer token /metrics requires when set (unset: /metrics is open), at least 16 characters',
    deploy: { kind: 'optional' },
  },
  WEBHOOK_CERT_EXTENDED_KEY_USAGES: {
    description:
      "Extended key usages (names or dotted OIDs) accepted on Partner Center's signing certificate (UNCONFIRMED which it names)",
    deploy: { kind: 'optional', default: 'serverAuth,clientAuth,codeSigning,anyExtendedKeyUsage' },
  },
  PC_REFERRALS_BASE_URL: {
    description: 'Partner Center Referrals API host',
    deploy: { kind: 'optional', default: 'https://api.partner.microsoft.com' },
  },
  PC_WEBHOOK_API_BASE_URL: {
    description: 'Partner Center webhook registration API host',
    deploy: { kind: 'optional', default: 'https://api.partnercenter.microsoft.com' },
  },
  PC_REFERRALS_SCOPE: {
    description: 'Delegated scope for the Referrals API (UNCONFIRMED: user_impersonation or .default)',
    deploy: { kind: 'optional', default: 'https://api.partner.microsoft.com/user_impersonation' },
  },
  PC_WEBHOOK_SCOPE: {
    description: 'App-only scope for the webhook registration API',
    deploy: { kind: 'optional', default: 'https://api.partnercenter.microsoft.com/.default' },
  },
  PC_WEBHOOK_SIGNATURE_IN_MS_HEADER: {
    description: 'Register for the signature in x-ms-signature instead of Authorization',
    deploy: { kind: 'optional', default: 'false' },
  },
  ENTRA_AUTHORITY_HOST: {
    description: 'Entra authority host',
    deploy: { kind: 'optional', default: 'https://login.microsoftonline.com' },
  },
  ENTRA_TENANT_ID: {
    description: "Your Entra tenant id (the partner's directory)",
    deploy: { kind: 'required' },
  },
  ENTRA_CLIENT_ID: {
    description: 'Entra app registration with the Microsoft Partner Center API permission',
    deploy: { kind: 'required' },
  },
  ENTRA_CLIENT_SECRET: { description: "That app's client secret", deploy: { kind: 'required' } },
  ENTRA_KNOWN_AUTHORITIES: {
    description: 'Comma-separated authority hosts MSAL may trust beyond the default',
    deploy: { kind: 'optional' },
  },
  ENTRA_REDIRECT_URI: {
    description:
      'Redirect URI of relay login (default PUBLIC_URL/auth/callback; a localhost URI lets the CLI catch it)',
    deploy: { kind: 'optional' },
  },
  TOKEN_CACHE_KEY: {
    description: 'Encrypts the stored Partner Center sign-in: 32 bytes as 64 hex characters or base64',
    deploy: { kind: 'generated' },
  },
  WEBHOOK_CERT_HOSTS: {
    description: 'Hosts the webhook signing certificate may come from',
    deploy: { kind: 'optional', default: '3psostorageacct.blob.core.windows.net' },
  },
  WEBHOOK_CERT_PATH_PATTERN: {
    description: 'Allowed certificate URL paths (regular expression)',
    deploy: { kind: 'optional', default: '^/cert/[A-Za-z0-9._-]+\\.cer$' },
  },
  WEBHOOK_TRUSTED_ROOTS_FILE: {
    description: 'PEM file of the roots the signing certificate must chain to (or WEBHOOK_TRUSTED_ROOTS_PEM)',
    deploy: { kind: 'optional' },
  },
  WEBHOOK_TRUSTED_ROOTS_PEM: {
    description:
      "The same roots as PEM text (newlines may be written \\n); Microsoft's roots: see the README",
    deploy: { kind: 'required' },
  },
  WEBHOOK_CERT_FETCH_CA_FILE: {
    description: 'Extra CA file for the certificate download (only for non-public CAs)',
    deploy: { kind: 'optional' },
  },
  WEBHOOK_CERT_FETCH_CA_PEM: { description: 'The same CA as PEM text', deploy: { kind: 'optional' } },
  WEBHOOK_MAX_BODY_BYTES: {
    description: 'Largest accepted webhook body',
    deploy: { kind: 'optional', default: '1048576' },
  },
  WEBHOOK_CERT_CACHE_SECONDS: {
    description: 'How long a downloaded signing certificate is cached',
    deploy: { kind: 'optional', default: '21600' },
  },
  SF_LOGIN_URL: {
    description: "The org's My Domain URL (https://<domain>.my.salesforce.com)",
    deploy: { kind: 'required', example: 'https://example.my.salesforce.com' },
  },
  SF_CLIENT_ID: {
    description: 'Connected app (client-credentials flow, run as the integration user): consumer key',
    deploy: { kind: 'required' },
  },
  SF_CLIENT_SECRET: { description: "That connected app's consumer secret", deploy: { kind: 'required' } },
  SF_API_VERSION: {
    description: 'Salesforce REST API version',
    deploy: { kind: 'optional', default: '62.0' },
  },
  SF_PUBSUB_ENDPOINT: {
    description: 'Pub/Sub API endpoint host:port',
    deploy: { kind: 'optional', default: 'api.pubsub.salesforce.com:7443' },
  },
  SF_PUBSUB_TLS: { description: 'TLS for the Pub/Sub API', deploy: { kind: 'optional', default: 'true' } },
  SF_EVENT_TOPIC: {
    description: 'Platform event topic (namespaced package: /event/<ns>__Referral_Sync__e)',
    deploy: { kind: 'optional', default: '/event/Referral_Sync__e' },
  },
  SF_REPLAY_ON_CORRUPT: {
    description: 'Where to resubscribe when the stored replay id is invalid: EARLIEST or LATEST',
    deploy: { kind: 'optional', default: 'EARLIEST' },
  },
  SF_PUBSUB_BATCH_SIZE: {
    description: 'Pub/Sub flow-control window (at most 100)',
    deploy: { kind: 'optional', default: '100' },
  },
  COSELL_CRASH_POINT: {
    description:
      'Test-only (npm run chaos): the relay kills itself at this point; never set it in a deployment',
    deploy: { kind: 'optional' },
  },
};
