/**
 * Both sandboxes, wired together the way the real services are: an Entra-like authority whose
 * tokens the Partner Center sandbox accepts; a Salesforce org whose REST writes run the package's
 * trigger rule and publish Referral_Sync__e on its Pub/Sub API. `relaySettings` is what the relay
 * needs to reach them: URLs, credentials and trust anchors — the only things that differ from
 * production. Used by `npm start` (sandbox mode), the end-to-end tests and the benchmarks.
 *
 * TLS: one sandbox CA per process issues the certificate of every TLS listener — Entra and the
 * Partner Center certificate host (always), the Pub/Sub gRPC server (always, as the real
 * endpoint), and the Partner Center and Salesforce REST APIs with `https: true`. This process
 * trusts the CA at start; another process (a production-mode relay pointed at these sandboxes)
 * trusts it with NODE_EXTRA_CA_CERTS=`tls.caFile`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RelayConnectionSettings } from '../src/connectionSettings.ts';
import type { Logger } from '../src/logger.ts';
import { createDataverseSandbox } from './dataverse/index.ts';
import type { DataverseSandbox, DataverseSandboxOptions } from './dataverse/index.ts';
import { sandboxTls } from './partner-center/certificates.ts';
import {
  createEntraAuthority,
  REFERRALS_AUDIENCE,
  trustSandboxCertificate,
  WEBHOOKS_AUDIENCE,
} from './partner-center/entraAuthority.ts';
import type { EntraAuthority } from './partner-center/entraAuthority.ts';
import { createPartnerCenterSandbox } from './partner-center/index.ts';
import type { PartnerCenterSandbox, PartnerCenterSandboxOptions } from './partner-center/index.ts';
import { createPubSubSandbox } from './salesforce/pubsub/pubsubSandbox.ts';
import type { PubSubSandbox } from './salesforce/pubsub/pubsubSandbox.ts';
import { connectTriggerRule, requestSyncNow } from './salesforce/pubsub/triggerHook.ts';
import { createSalesforceRestSandbox } from './salesforce/rest.ts';
import type { SalesforceRestSandbox } from './salesforce/rest.ts';
import { createTriggerRule } from './salesforce/triggerRule.ts';

export const SANDBOX_TENANT_ID = '4f6c2b1e-0000-4000-8000-00000000c05e';
export const SANDBOX_PARTNER_USER = 'referrals.admin@partner.sandbox';
export const SANDBOX_RELAY_CLIENT = {
  clientId: 'c05e11a0-0000-4000-8000-00000000re1a',
  clientSecret: 'sandbox-relay-client-secret',
};
/**
 * The Dataverse sandbox's token resource (scope `${SANDBOX_DATAVERSE_RESOURCE}/.default`), fixed so
 * the Entra authority knows the audience before the Dataverse sandbox picks its port.
 */
export const SANDBOX_DATAVERSE_RESOURCE = 'https://cosellsandbox.crm.dynamics.com';
/** Registered with the sandbox authority; the relay's automatic sandbox sign-in reads the code from the redirect. */
export const SANDBOX_REDIRECT_URI = 'http://localhost/cosell/signed-in';

export interface SandboxPorts {
  partnerCenter?: number;
  partnerCenterCertificates?: number;
  entra?: number;
  salesforce?: number;
  pubsub?: number;
  dataverse?: number;
}

export interface StartSandboxesOptions {
  forceAppDir: string;
  ports?: SandboxPorts;
  /** Extra Partner Center sandbox options (delivery backoff in tests, …). */
  partnerCenter?: Partial<Omit<PartnerCenterSandboxOptions, 'verifyAccessToken'>>;
  pubsub?: { keepaliveMs?: number; idleTimeoutMs?: number; retentionMs?: number };
  salesforce?: { tokenTtlMs?: number };
  /**
   * Also start the Dataverse sandbox (Dynamics 365), with these options; its tokens come from the
   * same Entra authority and the relay's client registration.
   */
  dataverse?: boolean | Partial<Omit<DataverseSandboxOptions, 'verifyAccessToken'>>;
  /** Serve the Partner Center and Salesforce REST APIs over HTTPS too (Entra and Pub/Sub always are). */
  https?: boolean;
  /** Where to write the sandbox CA's PEM; by default a temporary file removed by `close`. */
  caFile?: string;
  logger?: Logger;
}

export interface SandboxTrust {
  /** The CA behind every sandbox TLS certificate of this process. */
  caPem: string;
  /** A file holding `caPem`, for NODE_EXTRA_CA_CERTS of another process. */
  caFile: string;
}

export interface Sandboxes {
  entra: EntraAuthority;
  partnerCenter: PartnerCenterSandbox;
  salesforce: SalesforceRestSandbox;
  pubsub: PubSubSandbox;
  /** Started with the `dataverse` option only. */
  dataverse?: DataverseSandbox;
  /** What a Dataverse client needs to reach the Dataverse sandbox (with the `dataverse` option). */
  dataverseSettings?: {
    orgUrl: string;
    resource: string;
    authority: string;
    authorityMetadata: string;
    cloudDiscoveryMetadata: string;
    knownAuthorities: string[];
    clientId: string;
    clientSecret: string;
  };
  tls: SandboxTrust;
  relaySettings: RelayConnectionSettings;
  /**
   * A seller pressing Sync now in the panel (the package's ReferralSyncNowController): Pending on
   * the record and a Resync Referral_Sync__e. Returns the event id; throws the controller's message.
   */
  syncNow(opportunityId: string, userId: string): string;
  close(): Promise<void>;
}

export async function startSandboxes(options: StartSandboxesOptions): Promise<Sandboxes> {
  const forceAppDir = path.resolve(options.forceAppDir);
  const ports = options.ports ?? {};
  const { caPem } = await sandboxTls();
  // Before any TLS connection: fetch, MSAL and jsforce of this process then accept every sandbox.
  trustSandboxCertificate(caPem);
  const tempCaDir = options.caFile ? undefined : mkdtempSync(path.join(os.tmpdir(), 'cosell-sandbox-ca-'));
  const caFile = options.caFile ?? path.join(tempCaDir!, 'sandbox-ca.pem');
  mkdirSync(path.dirname(caFile), { recursive: true });
  writeFileSync(caFile, caPem);
  const dataverseOptions =
    options.dataverse === true ? {} : options.dataverse === false ? undefined : options.dataverse;
  const dataverseResource = dataverseOptions?.resource ?? SANDBOX_DATAVERSE_RESOURCE;
  const entra = await createEntraAuthority({
    port: ports.entra,
    tenantId: SANDBOX_TENANT_ID,
    ...(dataverseOptions ? { audiences: [REFERRALS_AUDIENCE, WEBHOOKS_AUDIENCE, dataverseResource] } : {}),
    clients: [{ ...SANDBOX_RELAY_CLIENT, redirectUris: [SANDBOX_REDIRECT_URI] }],
    users: [
      {
        username: SANDBOX_PARTNER_USER,
        objectId: '7d0c5a7e-0000-4000-8000-0000000005e1',
        name: 'Referrals Admin',
      },
    ],
  });
  const partnerCenter = await createPartnerCenterSandbox({
    ...options.partnerCenter,
    https: options.https ?? options.partnerCenter?.https,
    port: ports.partnerCenter,
    certificatePort: ports.partnerCenterCertificates,
    verifyAccessToken: (token) => entra.verifyAccessToken(token),
  });
  const salesforce = await createSalesforceRestSandbox({
    port: ports.salesforce,
    https: options.https,
    tokenTtlMs: options.salesforce?.tokenTtlMs,
    logger: options.logger,
  });
  const pubsub = await createPubSubSandbox({
    port: ports.pubsub,
    forceAppDir,
    ...options.pubsub,
    logger: options.logger,
    authenticate: (auth) => {
      const user = auth.accessToken ? salesforce.sessionUser(auth.accessToken) : undefined;
      const org = salesforce.organizationId;
      if (!user || !auth.tenantId || !org.startsWith(auth.tenantId.slice(0, 15))) return null;
      return { userId: user.id, orgId: org };
    },
  });
  const dataverse = dataverseOptions
    ? await createDataverseSandbox({
        https: options.https,
        port: ports.dataverse,
        logger: options.logger,
        ...dataverseOptions,
        resource: dataverseResource,
        verifyAccessToken: (token) => entra.verifyAccessToken(token),
      })
    : undefined;
  const rule = createTriggerRule({ forceAppDir, integrationUserId: salesforce.integrationUser.id });
  const disconnect = connectTriggerRule({ store: salesforce.store, rule, pubsub, logger: options.logger });
  const certificateHost = new URL(partnerCenter.certificateBaseUrl).host;

  return {
    entra,
    partnerCenter,
    salesforce,
    pubsub,
    dataverse,
    dataverseSettings: dataverse && {
      orgUrl: dataverse.url,
      resource: dataverse.resource,
      authority: entra.authority,
      authorityMetadata: entra.authorityMetadata,
      cloudDiscoveryMetadata: entra.cloudDiscoveryMetadata,
      knownAuthorities: entra.knownAuthorities,
      clientId: SANDBOX_RELAY_CLIENT.clientId,
      clientSecret: SANDBOX_RELAY_CLIENT.clientSecret,
    },
    tls: { caPem, caFile },
    syncNow: (opportunityId, userId) =>
      requestSyncNow({ store: salesforce.store, rule, pubsub }, opportunityId, userId),
    relaySettings: {
      partnerCenter: {
        referralsBaseUrl: partnerCenter.url,
        webhookApiBaseUrl: partnerCenter.url,
        authority: entra.authority,
        authorityMetadata: entra.authorityMetadata,
        cloudDiscoveryMetadata: entra.cloudDiscoveryMetadata,
        knownAuthorities: entra.knownAuthorities,
        clientId: SANDBOX_RELAY_CLIENT.clientId,
        clientSecret: SANDBOX_RELAY_CLIENT.clientSecret,
        referralsScopes: ['https://api.partner.microsoft.com/user_impersonation', 'offline_access'],
        webhookScopes: ['https://api.partnercenter.microsoft.com/.default'],
        redirectUri: SANDBOX_REDIRECT_URI,
      },
      webhook: {
        certificateHosts: [certificateHost],
        certificatePathPattern: /^\/cert\/[A-Za-z0-9._-]+\.cer$/,
        trustedRootsPem: [partnerCenter.trustedRootPem],
        certificateFetchCaPem: partnerCenter.httpsCaPem,
      },
      salesforce: {
        ...salesforce.relayCredentials,
        pubsubEndpoint: pubsub.endpoint,
        pubsubTls: true,
        pubsubCaPem: caPem,
      },
    },
    async close() {
      disconnect();
      await Promise.allSettled([
        pubsub.close(),
        salesforce.close(),
        partnerCenter.close(),
        dataverse?.close(),
        entra.close(),
      ]);
      if (tempCaDir) rmSync(tempCaDir, { recursive: true, force: true });
    },
  };
}
