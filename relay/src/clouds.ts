/**
 * The clients of the two clouds a relay talks to, each behind its circuit breaker: Partner Center
 * (Entra sign-in, referrals, webhook registration, the webhook signature check) and the CRM
 * (Salesforce's adapter, crm/salesforce/adapter.ts). Part of the composition root: the one place
 * besides relay.ts that names an adapter.
 */
import type pg from 'pg';
import { countingFetch, partnerCenterEndpoint } from './apiCallCounter.ts';
import { createCircuitBreaker } from './breaker.ts';
import type { BreakerStatus, CircuitBreaker } from './breaker.ts';
import type { RelayConfig } from './config.ts';
import type { RelayConnectionSettings } from './connectionSettings.ts';
import { createSalesforceAdapter } from './crm/salesforce/adapter.ts';
import type { SalesforceAdapter } from './crm/salesforce/adapter.ts';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';
import { entraAuthFromSettings } from './partner-center/entraAuth.ts';
import type { EntraAuth } from './partner-center/entraAuth.ts';
import { createReferralsClient, throttleVerdict } from './partner-center/referralsClient.ts';
import type { ReferralsClient } from './partner-center/referralsClient.ts';
import { createSignatureVerifier } from './partner-center/signature.ts';
import type { SignatureVerifier } from './partner-center/signature.ts';
import { createWebhookRegistrationClient } from './partner-center/webhookRegistrationClient.ts';
import type { WebhookRegistrationClient } from './partner-center/webhookRegistrationClient.ts';
import { recordAudit } from './store/audit.ts';
import { createTokenCacheStore } from './store/tokenCache.ts';

export interface Clouds {
  auth: EntraAuth;
  referrals: ReferralsClient;
  webhooks: WebhookRegistrationClient;
  verifier: SignatureVerifier;
  crm: SalesforceAdapter;
  breakers: CircuitBreaker[];
  /** Partner Center calls by endpoint (method and path), for /metrics. */
  partnerCenterCalls: Map<string, number>;
}

export function connectClouds(options: {
  pool: pg.Pool;
  config: RelayConfig;
  settings: RelayConnectionSettings;
  tokenCacheKey: Buffer;
  logger: Logger;
}): Clouds {
  const { pool, config, settings, tokenCacheKey, logger } = options;
  const partnerCenterCalls = new Map<string, number>();
  const countPartnerCenter = countingFetch((method, url) => {
    const endpoint = partnerCenterEndpoint(method, url);
    partnerCenterCalls.set(endpoint, (partnerCenterCalls.get(endpoint) ?? 0) + 1);
  });
  const pc = settings.partnerCenter;
  const auth = entraAuthFromSettings(
    pc,
    createTokenCacheStore(pool, tokenCacheKey),
    logger.child({ module: 'entra' }),
  );
  // ---- per-org circuit breakers (breaker.ts): an API-limit outage pauses calls, jobs wait ----
  const breakerLog = logger.child({ module: 'breaker' });
  const onBreakerChange = (b: BreakerStatus) =>
    void recordAudit(pool, {
      direction: 'system',
      level: b.state === 'closed' ? 'INFO' : 'ERROR',
      message:
        b.state === 'closed'
          ? `${b.name} calls resumed`
          : `${b.name} calls paused until ${b.retryAt ?? '?'}: ${b.reason ?? ''}; jobs wait without spending attempts`,
    }).catch(() => undefined);
  const probe = { minProbeMs: config.BREAKER_PROBE_MS, maxProbeMs: config.BREAKER_PROBE_MAX_MS };
  const salesforceBreaker = createCircuitBreaker({
    name: 'salesforce',
    label: 'Salesforce',
    classify: (error) => crm.limitVerdict(error),
    ...probe,
    logger: breakerLog,
    onChange: onBreakerChange,
  });
  const partnerCenterBreaker = createCircuitBreaker({
    name: 'partner-center',
    label: 'Partner Center',
    classify: throttleVerdict,
    ...probe,
    logger: breakerLog,
    onChange: onBreakerChange,
  });
  partnerCenterBreaker.setOrg(pc.authority.replace(/\/+$/, '').split('/').pop() ?? '');
  const breakers = [salesforceBreaker, partnerCenterBreaker];

  const referrals = createReferralsClient({
    breaker: partnerCenterBreaker,
    baseUrl: pc.referralsBaseUrl,
    getToken: () => auth.getDelegatedToken(),
    logger: logger.child({ module: 'referrals' }),
    fetch: countPartnerCenter,
  });
  const webhooks = createWebhookRegistrationClient({
    baseUrl: pc.webhookApiBaseUrl,
    getToken: () => auth.getAppToken(),
    logger: logger.child({ module: 'webhooks' }),
    fetch: countPartnerCenter,
  });
  const verifier = createSignatureVerifier({
    allowedCertificateHosts: settings.webhook.certificateHosts,
    certificatePathPattern: settings.webhook.certificatePathPattern,
    trustedRootsPem: settings.webhook.trustedRootsPem,
    httpsCaPem: settings.webhook.certificateFetchCaPem,
    maxBodyBytes: config.WEBHOOK_MAX_BODY_BYTES,
    cacheTtlMs: config.WEBHOOK_CERT_CACHE_SECONDS * 1000,
    acceptedExtendedKeyUsages: config.WEBHOOK_CERT_EXTENDED_KEY_USAGES,
  });
  const crm = createSalesforceAdapter({
    loginUrl: settings.salesforce.loginUrl,
    clientId: settings.salesforce.clientId,
    clientSecret: settings.salesforce.clientSecret,
    apiVersion: config.SF_API_VERSION,
    windowMs: config.BATCH_WINDOW_MS,
    maxWaitMs: Math.max(config.BATCH_WINDOW_MS, config.BATCH_MAX_WAIT_MS),
    deferredWindowMs: config.WRITE_BACK_WINDOW_MS,
    breaker: salesforceBreaker,
    pubsub: {
      endpoint: settings.salesforce.pubsubEndpoint,
      topic: config.SF_EVENT_TOPIC,
      tls: settings.salesforce.pubsubTls,
      caPem: settings.salesforce.pubsubCaPem,
      batchSize: config.SF_PUBSUB_BATCH_SIZE,
      replayOnCorrupt: config.SF_REPLAY_ON_CORRUPT,
    },
    logger,
  });
  // Log in now, but let the relay start (and report it on /readyz) if Salesforce is down.
  void crm
    .connect()
    .catch((error) =>
      logger.error({ err: describeError(error) }, 'Salesforce login failed; will retry on demand'),
    );

  return { auth, referrals, webhooks, verifier, crm, breakers, partnerCenterCalls };
}
