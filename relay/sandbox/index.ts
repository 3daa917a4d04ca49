/**
 * Both sandboxes, wired together the way the real services are: an Entra-like authority whose
 * tokens the Partner Center sandbox accepts; a Salesforce org whose REST writes run the package's
 * trigger rule and publish Referral_Sync__e on its Pub/Sub API. `relaySettings` is what the relay
 * needs to reach them: URLs, credentials and trust anchors — the only things that differ from
 * production. Used by `npm start` (sandbox mode), the end-to-end tests and the benchmarks.
 */
import path from 'node:path';
import type { RelayConnectionSettings } from '../src/connectionSettings.ts';
import type { Logger } from '../src/logger.ts';
import { createEntraAuthority, trustSandboxCertificate } from './partner-center/entraAuthority.ts';
import type { EntraAuthority } from './partner-center/entraAuthority.ts';
import { createPartnerCenterSandbox } from './partner-center/index.ts';
import type { PartnerCenterSandbox, PartnerCenterSandboxOptions } from './partner-center/index.ts';
import { createPubSubSandbox } from './salesforce/pubsub/pubsubSandbox.ts';
import type { PubSubSandbox } from './salesforce/pubsub/pubsubSandbox.ts';
import { connectTriggerRule } from './salesforce/pubsub/triggerHook.ts';
import { createSalesforceRestSandbox } from './salesforce/rest.ts';
import type { SalesforceRestSandbox } from './salesforce/rest.ts';
import { createTriggerRule } from './salesforce/triggerRule.ts';

export const SANDBOX_TENANT_ID = '4f6c2b1e-0000-4000-8000-00000000c05e';
export const SANDBOX_PARTNER_USER = 'referrals.admin@partner.sandbox';
export const SANDBOX_RELAY_CLIENT = {
  clientId: 'c05e11a0-0000-4000-8000-00000000re1a',
  clientSecret: 'sandbox-relay-client-secret',
};
/** Registered with the sandbox authority; the relay's automatic sandbox sign-in reads the code from the redirect. */
export const SANDBOX_REDIRECT_URI = 'http://localhost/cosell/signed-in';

export interface SandboxPorts {
  partnerCenter?: number;
  partnerCenterCertificates?: number;
  entra?: number;
  salesforce?: number;
  pubsub?: number;
}

export interface StartSandboxesOptions {
  forceAppDir: string;
  ports?: SandboxPorts;
  /** Extra Partner Center sandbox options (delivery backoff in tests, …). */
  partnerCenter?: Partial<Omit<PartnerCenterSandboxOptions, 'verifyAccessToken'>>;
  pubsub?: { keepaliveMs?: number; idleTimeoutMs?: number; retentionMs?: number };
  salesforce?: { tokenTtlMs?: number };
  logger?: Logger;
}

export interface Sandboxes {
  entra: EntraAuthority;
  partnerCenter: PartnerCenterSandbox;
  salesforce: SalesforceRestSandbox;
  pubsub: PubSubSandbox;
  relaySettings: RelayConnectionSettings;
  close(): Promise<void>;
}

export async function startSandboxes(options: StartSandboxesOptions): Promise<Sandboxes> {
  const forceAppDir = path.resolve(options.forceAppDir);
  const ports = options.ports ?? {};
  const entra = await createEntraAuthority({
    port: ports.entra,
    tenantId: SANDBOX_TENANT_ID,
    clients: [{ ...SANDBOX_RELAY_CLIENT, redirectUris: [SANDBOX_REDIRECT_URI] }],
    users: [
      {
        username: SANDBOX_PARTNER_USER,
        objectId: '7d0c5a7e-0000-4000-8000-0000000005e1',
        name: 'Referrals Admin',
      },
    ],
  });
  // MSAL only talks HTTPS; this process must trust the authority's self-signed certificate.
  trustSandboxCertificate(entra.certificatePem);
  const partnerCenter = await createPartnerCenterSandbox({
    ...options.partnerCenter,
    port: ports.partnerCenter,
    certificatePort: ports.partnerCenterCertificates,
    verifyAccessToken: (token) => entra.verifyAccessToken(token),
  });
  const salesforce = await createSalesforceRestSandbox({
    port: ports.salesforce,
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
  const rule = createTriggerRule({ forceAppDir, integrationUserId: salesforce.integrationUser.id });
  const disconnect = connectTriggerRule({ store: salesforce.store, rule, pubsub, logger: options.logger });
  const certificateHost = new URL(partnerCenter.certificateBaseUrl).host;

  return {
    entra,
    partnerCenter,
    salesforce,
    pubsub,
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
        pubsubTls: false,
      },
    },
    async close() {
      disconnect();
      await Promise.allSettled([pubsub.close(), salesforce.close(), partnerCenter.close(), entra.close()]);
    },
  };
}
