/**
 * Partner Center sandbox: a contract simulator (not a mock) of the co-sell referrals API, the
 * webhook registration API and signed webhook delivery, written from
 * /work/shared/contracts/partner-center.md (§1, §3). The relay should not be able to tell it from
 * the real services except by URL.
 *
 * Two listeners on 127.0.0.1:
 *  - `url` (HTTP, or HTTPS with `https: true`): `/v1.0/engagements/referrals…` (delegated Bearer tokens only, else 403),
 *    `/webhooks/v1/registration…` (delegated or app-only), and the `/_sandbox/…` admin API
 *    (no auth) for separate processes: GET/PUT `faults`, GET `counters`, GET `deliveries`,
 *    GET/POST `referrals`, GET/PATCH `referrals/{id}[?force=true]` (acting as Microsoft/the
 *    customer: these fire webhooks), GET/PUT `signing-identity`, POST `reset`.
 *  - `certificateBaseUrl` (HTTPS, certificate from the process's sandbox TLS CA: trust `httpsCaPem`):
 *    `/cert/pcnotifications-dispatch.microsoft.com.cer`, the signing certificate that
 *    `x-ms-certificate-url` points at, and one file per alternative signing identity.
 *
 * Error bodies: `{ "code", "description", "data": [field or header at fault], "source" }` (the
 * documented Partner Center shape), except 429: `{ "statusCode": 429, "message" }` + Retry-After.
 *
 * Behaviour the contract leaves open, decided here: `$top` is the page size (capped at
 * `maxPageSize`); `@odata.count` is the total number of matches; `@odata.nextLink` is an absolute
 * URL carrying an opaque `$skiptoken`; `$skip`, `$count`, `$expand` and `or` in `$filter` are
 * refused with 400. A referral created in an engagement that already has referrals also raises
 * `related-referral-created` (and updates `related-referral-updated`), with the changed
 * referral's ResourceUri. Deliveries are unordered, signed once per event, and retried with
 * `deliveryBackoffMs`; a `lost` delivery (fault) is recorded but never sent.
 */
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { createSandboxPki } from './certificates.ts';
import type { SandboxPki, SigningIdentityName } from './certificates.ts';
import { createFaults } from './faults.ts';
import type { Faults, FaultSettings } from './faults.ts';
import { createReferralStore } from './referralStore.ts';
import type { Referral } from './referralStore.ts';
import { createCounters, createRequestHandler } from './requestHandler.ts';
import type { AccessTokenClaims, AccessTokenVerifier, RequestLogEntry } from './requestHandler.ts';
import { createWebhookDispatcher } from './webhookDispatcher.ts';
import type { DeliveryAttempt, DeliveryRecord, WebhookRegistration } from './webhookDispatcher.ts';

export type {
  AccessTokenClaims,
  AccessTokenVerifier,
  DeliveryAttempt,
  DeliveryRecord,
  FaultSettings,
  Referral,
  RequestLogEntry,
  SigningIdentityName,
  WebhookRegistration,
};
export { SIGNING_IDENTITIES } from './certificates.ts';
export { REFERRAL_EVENTS, SUPPORTED_EVENTS } from './webhookDispatcher.ts';

export interface PartnerCenterSandboxOptions {
  /** Decides who a Bearer token belongs to (the sandbox Entra authority, or a test's own). */
  verifyAccessToken: AccessTokenVerifier;
  /** Port of the API listener; 0 (default) picks a free one. */
  port?: number;
  /** Serve the API over HTTPS with the sandbox CA's certificate (as the real host does); default plain HTTP. */
  https?: boolean;
  /** Port of the HTTPS certificate listener; 0 (default) picks a free one. */
  certificatePort?: number;
  /** Token audience the referrals API requires; null accepts any. Default `https://api.partner.microsoft.com`. */
  referralsAudience?: string | null;
  /** Token audience the webhook API requires; null accepts any. Default `https://api.partnercenter.microsoft.com`. */
  webhooksAudience?: string | null;
  /** Partner tenant id, reported as SubscriberId/partnerId. */
  partnerTenantId?: string;
  organizationId?: string;
  organizationName?: string;
  defaultPageSize?: number;
  maxPageSize?: number;
  /** Attempts per event before it is dropped for good; the contract says 10. */
  maxDeliveryAttempts?: number;
  /** Delay before retry n+1 after n failed attempts. Default 50 ms doubling, capped at 1 s. */
  deliveryBackoffMs?: number | ((failedAttempts: number) => number);
  /** Per-attempt timeout. Default 10 s. */
  deliveryTimeoutMs?: number;
  /** Form of `x-ms-signature` when the registration asks for it. Default `prefixed` (`Signature <b64>`). */
  msSignatureHeaderFormat?: 'prefixed' | 'bare';
  /** What `/cert/*.cer` serves: `pem` = leaf then intermediates (default), `der` = the leaf alone. */
  certificateFormat?: 'pem' | 'der';
  /** Test-event throttle (contract: 2 per minute). */
  validationEventsPerMinute?: number;
  /** RSA modulus size for the generated PKI. */
  keyBits?: number;
  now?: () => Date;
}

export interface SandboxReferrals {
  /** Creates an Incoming referral as Microsoft would (default New/Pending); fires referral-created. */
  createAsMicrosoft(body: Record<string, unknown>): Referral;
  /** Creates an Outgoing referral exactly as the API would for the partner. */
  createAsPartner(body: Record<string, unknown>): Referral;
  /** Changes a referral as Microsoft/the customer: a merge object or a JSON Patch array. `force` skips status rules. */
  update(id: string, changes: Record<string, unknown> | object[], options?: { force?: boolean }): Referral;
  get(id: string): Referral | undefined;
  list(): Referral[];
}

export interface SandboxDeliveries {
  /** Every event queued for delivery, with its attempts, oldest first. */
  list(): DeliveryRecord[];
  attempts(): DeliveryAttempt[];
}

export interface SandboxCounters {
  /** API calls per route, e.g. `{ "PATCH /v1.0/engagements/referrals/{id}": 3 }`, faulted ones included. */
  apiCalls(): Record<string, number>;
  totalApiCalls(): number;
  certificateDownloads(): number;
  /** Every request the certificate listener answered, 404s included. */
  certificateRequests(): number;
  /** API requests in arrival order, with route, referral id, If-Match and body (faulted ones included). */
  requests(): RequestLogEntry[];
}

export interface PartnerCenterSandbox {
  /** Base URL of the referrals and webhook APIs, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Base URL of the HTTPS certificate listener, e.g. `https://127.0.0.1:41235`. */
  certificateBaseUrl: string;
  /** URL of the default signing certificate. */
  certificateUrl: string;
  /** The signing root CA (O=Microsoft Corporation) a verifier must trust. */
  trustedRootPem: string;
  /** The intermediate between root and leaf (useful as an extra anchor when serving DER). */
  intermediatePem: string;
  /** The CA of the HTTPS listener's TLS certificate. */
  httpsCaPem: string;
  referrals: SandboxReferrals;
  faults: Faults;
  counters: SandboxCounters;
  deliveries: SandboxDeliveries;
  webhookRegistration(): WebhookRegistration | undefined;
  /** Switches the certificate deliveries are signed with (see SIGNING_IDENTITIES). */
  setSigningIdentity(name: SigningIdentityName): void;
  /** Renews the Microsoft signing certificate behind the same URL (new key), as Partner Center does. */
  renewSigningCertificate(): Promise<void>;
  /** Forgets referrals, registration, deliveries, counters and faults. */
  reset(): void;
  close(): Promise<void>;
}

export async function createPartnerCenterSandbox(
  options: PartnerCenterSandboxOptions,
): Promise<PartnerCenterSandbox> {
  const now = options.now ?? (() => new Date());
  const pki: SandboxPki = await createSandboxPki({ keyBits: options.keyBits, now: now() });
  const faults = createFaults();
  const counters = createCounters();
  let baseUrl = '';
  let certificateBaseUrl = '';
  const backoff = options.deliveryBackoffMs ?? ((failed: number) => Math.min(50 * 2 ** (failed - 1), 1000));

  const dispatcher = createWebhookDispatcher({
    pki,
    certificateBaseUrl: () => certificateBaseUrl,
    maxAttempts: options.maxDeliveryAttempts ?? 10,
    backoffMs: typeof backoff === 'number' ? () => backoff : backoff,
    timeoutMs: options.deliveryTimeoutMs ?? 10_000,
    msSignatureHeaderFormat: options.msSignatureHeaderFormat ?? 'prefixed',
    shouldLose: () => faults.takeLostDelivery(),
  });

  const store = createReferralStore({
    baseUrl: () => baseUrl,
    now,
    organizationId: options.organizationId ?? '7d23e5ca-19dc-4eaa-aac8-5e6b559f0d1d',
    organizationName: options.organizationName ?? 'Sandbox Partner',
    onChange({ action, referral, relatedIds }) {
      // ResourceUri uses the older webhook form the contract documents (§1.1, §3.2).
      const resourceUri = `${baseUrl}/engagements/v1/referrals/${referral.id}`;
      const changedAt = referral.updatedDateTime;
      dispatcher.publish({
        eventName: `referral-${action}`,
        resourceName: 'referral',
        resourceUri,
        changedAt,
      });
      if (relatedIds.length > 0)
        dispatcher.publish({
          eventName: `related-referral-${action}`,
          resourceName: 'referral',
          resourceUri,
          changedAt,
        });
    },
  });

  const reset = (): void => {
    store.clear();
    dispatcher.clear();
    counters.reset();
    faults.reset();
  };

  const apiHandler = createRequestHandler({
    baseUrl: () => baseUrl,
    store,
    dispatcher,
    faults,
    counters,
    verifyAccessToken: options.verifyAccessToken,
    referralsAudience:
      options.referralsAudience === undefined
        ? 'https://api.partner.microsoft.com'
        : options.referralsAudience,
    webhooksAudience:
      options.webhooksAudience === undefined
        ? 'https://api.partnercenter.microsoft.com'
        : options.webhooksAudience,
    partnerTenantId: options.partnerTenantId ?? randomUUID(),
    defaultPageSize: options.defaultPageSize ?? 100,
    maxPageSize: options.maxPageSize ?? 1000,
    validationEventsPerMinute: options.validationEventsPerMinute ?? 2,
    reset,
  });
  const apiServer = options.https
    ? https.createServer({ key: pki.tls.keyPem, cert: pki.tls.certPem }, apiHandler)
    : http.createServer(apiHandler);

  const format = options.certificateFormat ?? 'pem';
  let certificateRequests = 0;
  const certificateServer = https.createServer({ key: pki.tls.keyPem, cert: pki.tls.certPem }, (req, res) => {
    certificateRequests += 1;
    const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
    const identity = Object.values(pki.identities).find(
      (candidate) => path === `/cert/${candidate.fileName}`,
    );
    if (req.method !== 'GET' || !identity) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    counters.recordCertificateDownload();
    const body = format === 'der' ? identity.leafDer : Buffer.from(identity.chainPem, 'utf8');
    res
      .writeHead(200, {
        'content-type': format === 'der' ? 'application/pkix-cert' : 'application/x-pem-file',
        'content-length': String(body.length),
      })
      .end(body);
  });

  const listen = async (server: http.Server | https.Server, port: number): Promise<number> => {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  };
  const apiPort = await listen(apiServer, options.port ?? 0);
  const certificatePort = await listen(certificateServer, options.certificatePort ?? 0);
  baseUrl = `${options.https ? 'https' : 'http'}://127.0.0.1:${apiPort}`;
  certificateBaseUrl = `https://127.0.0.1:${certificatePort}`;

  const closeServer = (server: http.Server | https.Server): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    url: baseUrl,
    certificateBaseUrl,
    certificateUrl: `${certificateBaseUrl}/cert/${pki.identities.microsoft.fileName}`,
    trustedRootPem: pki.trustedRootPem,
    intermediatePem: pki.intermediatePem,
    httpsCaPem: pki.tls.caPem,
    referrals: {
      createAsMicrosoft: (body) => store.createAsMicrosoft(body),
      createAsPartner: (body) => store.createAsPartner(body),
      update: (id, changes, updateOptions) => store.updateAsMicrosoft(id, changes, updateOptions),
      get: (id) => store.get(id),
      list: () => store.query(undefined, { field: 'createdDateTime', descending: false }),
    },
    faults,
    counters: {
      apiCalls: () => counters.apiCalls(),
      totalApiCalls: () => counters.totalApiCalls(),
      certificateDownloads: () => counters.certificateDownloads(),
      certificateRequests: () => certificateRequests,
      requests: () => counters.requests(),
    },
    deliveries: {
      list: () => dispatcher.records(),
      attempts: () => dispatcher.records().flatMap((record) => record.attempts),
    },
    webhookRegistration: () => dispatcher.registration(),
    setSigningIdentity: (name) => dispatcher.setSigningIdentity(name),
    renewSigningCertificate: () => pki.renewSigningCertificate(),
    reset() {
      reset();
      certificateRequests = 0;
    },
    async close() {
      dispatcher.close();
      await Promise.all([closeServer(apiServer), closeServer(certificateServer)]);
    },
  };
}
