import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { describeError } from '../errors.ts';
import { entraAuthFromSettings } from '../partner-center/entraAuth.ts';
import { createCertificateFetcher } from '../partner-center/certificateFetcher.ts';
import { HANDLED_EVENTS } from '../partner-center/webhookEvent.ts';
import { createWebhookRegistrationClient } from '../partner-center/webhookRegistrationClient.ts';
import { createSalesforceConnection } from '../crm/salesforce/connection.ts';
import type { SalesforceConnection } from '../crm/salesforce/connection.ts';
import { EVENT_RECORD_ID_FIELD, isCustomField } from '../crm/salesforce/names.ts';
import { authMetadata, loadPubSubDefinition } from '../crm/salesforce/pubsubProto.ts';
import { pubsubCredentials } from '../crm/salesforce/pubsubTls.ts';
import type { SchemaInfo, TopicInfo } from '../crm/salesforce/pubsubProto.ts';
import { openCommandPool } from '../store/database.ts';
import { pendingMigrations } from '../store/migrate.ts';
import { createTokenCacheStore } from '../store/tokenCache.ts';
import { loadMapping, loadOpportunitySchema } from '../mappingLoader.ts';
import { mappedOpportunityFields } from '../sync/mapping.ts';
import { parseArgs } from './args.ts';
import type { Output } from './output.ts';
import { cliLogger, commandSettings } from './productionSettings.ts';

export const doctorUsage =
  'doctor [--json] [--certificate-url <url>]   check the settings against the real endpoints, one line per check (exit 1 on any failure)';

/** Partner Center's current signing certificate (contracts: the 2019+ file name). */
const DEFAULT_CERTIFICATE_FILE = 'pcnotifications-dispatch.microsoft.com.cer';

interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

class CheckFailed extends Error {}

function unary<T>(call: (cb: grpc.requestCallback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    call((error, value) => (error ? reject(error) : resolve(value as T))),
  );
}

/**
 * `relay doctor`: runs, one after another, what the relay needs from each endpoint, with the
 * relay's own code (MSAL, jsforce, grpc-js, the certificate fetcher), and prints one line per
 * check. A failed check does not stop the others, unless they need what it failed to get.
 */
export async function doctorCommand(argv: string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { flags: ['json'], options: ['certificate-url'], positionals: 0 });
  const { config, settings, sandbox, databaseUrl, tokenKey, publicUrl } = commandSettings();
  const logger = cliLogger({ LOG_LEVEL: config.LOG_LEVEL === 'info' ? 'silent' : config.LOG_LEVEL });
  const results: CheckResult[] = [];
  const json = args.flags.has('json');
  const check = async <T>(name: string, run: () => Promise<{ detail: string; value?: T }>) => {
    let result: CheckResult;
    let value: T | undefined;
    try {
      const done = await run();
      value = done.value;
      result = { name, ok: true, detail: done.detail };
    } catch (error) {
      result = {
        name,
        ok: false,
        detail: error instanceof CheckFailed ? error.message : describeError(error),
      };
    }
    results.push(result);
    if (!json) out.line(`${result.ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(28)} ${result.detail}`);
    return value;
  };
  if (!json && sandbox) out.line('(sandbox: checking the simulators of the running `npm start`)');

  const pool = databaseUrl ? openCommandPool(databaseUrl) : undefined;
  try {
    const database = await check('Database and migrations', async () => {
      if (!pool) throw new CheckFailed('DATABASE_URL: not set');
      const { all: files, pending } = await pendingMigrations(pool).catch((error: Error) => {
        throw new CheckFailed(`DATABASE_URL: ${error.message}`);
      });
      if (pending.length > 0)
        throw new CheckFailed(
          `${pending.length} of ${files.length} migrations not applied (${pending.join(', ')}): run \`relay migrate\``,
        );
      return { detail: `reachable; all ${files.length} migrations applied`, value: true };
    });

    const pc = settings.partnerCenter;
    await check('Entra delegated sign-in', async () => {
      if (!database || !pool) throw new CheckFailed('needs the database (the sign-in is stored there)');
      if (!tokenKey) throw new CheckFailed('TOKEN_CACHE_KEY: not set');
      const auth = entraAuthFromSettings(pc, createTokenCacheStore(pool, tokenKey), logger);
      const health = await auth.tokenHealth();
      if (health.status !== 'ok' && health.status !== 'expiring')
        throw new CheckFailed(`${health.status}: ${health.detail ?? 'no sign-in'}; run \`relay login\``);
      return {
        detail: `${health.account ?? 'signed in'}; access token valid until ${health.expiresOn ?? 'unknown'}${health.status === 'expiring' ? ` (${health.detail ?? 'refresh not proven'})` : ''}`,
      };
    });

    let appCache: string | null = null;
    const appAuth = entraAuthFromSettings(
      pc,
      { load: async () => appCache, save: async (s) => void (appCache = s) },
      logger,
    );
    const appToken = await check('Entra app token', async () => {
      await appAuth.getAppToken();
      return { detail: `client credentials for ${pc.webhookScopes.join(' ')}`, value: true };
    });

    const salesforce = await check<SalesforceConnection>('Salesforce login', async () => {
      const connection = await createSalesforceConnection({
        loginUrl: settings.salesforce.loginUrl,
        clientId: settings.salesforce.clientId,
        clientSecret: settings.salesforce.clientSecret,
        apiVersion: config.SF_API_VERSION,
        logger,
      });
      return {
        detail: `${connection.username} at ${connection.connection.instanceUrl}`,
        value: connection,
      };
    });

    await check('Package and mapped fields', async () => {
      if (!salesforce) throw new CheckFailed('needs the Salesforce login');
      const forceAppDir = path.resolve(config.rootDir, config.FORCE_APP_DIR);
      const [describe, schema, mapping] = await Promise.all([
        salesforce.connection.sobject('Opportunity').describe(),
        loadOpportunitySchema(forceAppDir),
        loadMapping(path.resolve(config.rootDir, config.MAPPING_FILE), forceAppDir),
      ]);
      const present = new Set(describe.fields.map((f) => f.name));
      // The package's own fields stand for its version: a field added by a newer version is missing from an older one.
      const packageFields = [...schema.opportunityFields.keys()].filter(isCustomField);
      const needed = [...new Set([...packageFields, ...mappedOpportunityFields(mapping)])];
      const missing = needed.filter((f) => !present.has(f));
      if (missing.length > 0)
        throw new CheckFailed(
          `Opportunity lacks ${missing.join(', ')}: install the current package version (force-app)`,
        );
      return {
        detail: `Opportunity has all ${packageFields.length} package fields and ${mappedOpportunityFields(mapping).length} mapped fields`,
      };
    });

    await check('Pub/Sub topic and schema', async () => {
      if (!salesforce) throw new CheckFailed('needs the Salesforce login');
      const { Client } = loadPubSubDefinition();
      const client = new Client(
        settings.salesforce.pubsubEndpoint,
        pubsubCredentials({ tls: settings.salesforce.pubsubTls }),
      );
      try {
        const metadata = authMetadata({
          accessToken: salesforce.connection.accessToken as string,
          instanceUrl: salesforce.connection.instanceUrl,
          tenantId: salesforce.organizationId,
        });
        const topic = await unary<TopicInfo>((cb) =>
          client.GetTopic({ topic_name: config.SF_EVENT_TOPIC }, metadata, cb),
        );
        if (!topic.can_subscribe)
          throw new CheckFailed(`${config.SF_EVENT_TOPIC}: the integration user cannot subscribe`);
        const schema = await unary<SchemaInfo>((cb) =>
          client.GetSchema({ schema_id: topic.schema_id }, metadata, cb),
        );
        const fields = (JSON.parse(schema.schema_json) as { fields?: Array<{ name: string }> }).fields ?? [];
        if (!fields.some((f) => f.name === EVENT_RECORD_ID_FIELD))
          throw new CheckFailed(
            `${config.SF_EVENT_TOPIC}: schema ${topic.schema_id} has no ${EVENT_RECORD_ID_FIELD}`,
          );
        return {
          detail: `${config.SF_EVENT_TOPIC} at ${settings.salesforce.pubsubEndpoint}, schema ${topic.schema_id} (${fields.length} fields)`,
        };
      } finally {
        client.close();
      }
    });

    await check('Webhook registration', async () => {
      if (!appToken) throw new CheckFailed('needs the Entra app token');
      if (!publicUrl) throw new CheckFailed('PUBLIC_URL: not set');
      const expected = `${publicUrl.replace(/\/$/, '')}/webhooks/partner-center`;
      const webhooks = createWebhookRegistrationClient({
        baseUrl: pc.webhookApiBaseUrl,
        getToken: () => appAuth.getAppToken(),
        logger,
      });
      const registration = await webhooks.get();
      if (!registration) throw new CheckFailed('none registered: run `relay webhooks register`');
      if (registration.webhookUrl !== expected)
        throw new CheckFailed(
          `points at ${registration.webhookUrl}, not ${expected}: run \`relay webhooks register\``,
        );
      const missing = HANDLED_EVENTS.filter((e) => !registration.webhookEvents.includes(e));
      if (missing.length > 0)
        throw new CheckFailed(`lacks ${missing.join(', ')}: run \`relay webhooks register\``);
      return { detail: `${expected} for ${registration.webhookEvents.length} events` };
    });

    await check('Certificate download', async () => {
      const { webhook } = settings;
      const url = new URL(
        args.options.get('certificate-url') ??
          `https://${webhook.certificateHosts[0]}/cert/${DEFAULT_CERTIFICATE_FILE}`,
      );
      const fetcher = createCertificateFetcher({
        allowedHosts: webhook.certificateHosts,
        pathPattern: webhook.certificatePathPattern,
        httpsCaPem: webhook.certificateFetchCaPem,
        timeoutMs: 15_000,
        maxBytes: 64 * 1024,
        cacheTtlMs: 0,
        now: () => new Date(),
      });
      const chain = await fetcher.fetch(url);
      const roots = webhook.trustedRootsPem
        .flatMap((pem) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [])
        .map((pem) => new X509Certificate(pem));
      const anchored = chain.some((cert) =>
        roots.some((root) => root.fingerprint256 === cert.fingerprint256 || cert.checkIssued(root)),
      );
      if (!anchored)
        throw new CheckFailed(
          `${url.href}: the certificate does not chain to WEBHOOK_TRUSTED_ROOTS (subject ${chain[0]?.subject.replace(/\n/g, ', ')})`,
        );
      const leaf = chain[0];
      return {
        detail: `${url.href}: ${leaf.subject.split('\n').find((l) => l.startsWith('CN=')) ?? leaf.subject}, valid until ${new Date(leaf.validTo).toISOString()}`,
      };
    });
  } finally {
    await pool?.end();
  }
  const failed = results.filter((r) => !r.ok).length;
  if (json) out.line(JSON.stringify({ ok: failed === 0, checks: results }, null, 2));
  else out.line(failed === 0 ? '\nAll checks passed.' : `\n${failed} of ${results.length} checks failed.`);
  return failed === 0 ? 0 : 1;
}
