import { readPemSetting } from './config.ts';
import type { RelayConfig } from './config.ts';
import { ConfigError } from './errors.ts';

/**
 * Where the relay's edges connect and what they trust. Production builds this from config; the
 * sandboxes hand over the same shape for their local services, so the relay runs one code path.
 */
export interface RelayConnectionSettings {
  partnerCenter: {
    referralsBaseUrl: string;
    webhookApiBaseUrl: string;
    authority: string;
    authorityMetadata?: string;
    cloudDiscoveryMetadata?: string;
    knownAuthorities?: string[];
    clientId: string;
    clientSecret: string;
    referralsScopes: string[];
    webhookScopes: string[];
    /** Where the interactive `relay login` sends the browser back to. */
    redirectUri: string;
  };
  webhook: {
    certificateHosts: string[];
    certificatePathPattern: RegExp;
    trustedRootsPem: string[];
    certificateFetchCaPem?: string;
  };
  salesforce: {
    loginUrl: string;
    clientId: string;
    clientSecret: string;
    pubsubEndpoint: string;
    pubsubTls: boolean;
    /** Extra trust for the Pub/Sub channel: the sandbox CA in sandbox mode; production uses the system roots. */
    pubsubCaPem?: string;
  };
}

/** Production settings from config; every missing or unreadable item is reported at once. */
export function connectionSettingsFromConfig(config: RelayConfig): RelayConnectionSettings {
  const problems: string[] = [];
  const trustedRoots = readPemSetting(config, config.rootDir, 'WEBHOOK_TRUSTED_ROOTS', problems);
  const fetchCa = readPemSetting(config, config.rootDir, 'WEBHOOK_CERT_FETCH_CA', problems);
  for (const key of [
    'ENTRA_TENANT_ID',
    'ENTRA_CLIENT_ID',
    'ENTRA_CLIENT_SECRET',
    'SF_LOGIN_URL',
    'SF_CLIENT_ID',
    'SF_CLIENT_SECRET',
  ] as const) {
    if (!config[key]) problems.push(`${key}: required outside sandbox mode`);
  }
  if (!trustedRoots && problems.every((p) => !p.startsWith('WEBHOOK_TRUSTED_ROOTS')))
    problems.push('WEBHOOK_TRUSTED_ROOTS_FILE: required outside sandbox mode (or WEBHOOK_TRUSTED_ROOTS_PEM)');
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  const publicUrl = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
  return {
    partnerCenter: {
      referralsBaseUrl: config.PC_REFERRALS_BASE_URL,
      webhookApiBaseUrl: config.PC_WEBHOOK_API_BASE_URL,
      authority: `${config.ENTRA_AUTHORITY_HOST.replace(/\/$/, '')}/${config.ENTRA_TENANT_ID}`,
      knownAuthorities:
        config.ENTRA_KNOWN_AUTHORITIES.length > 0 ? config.ENTRA_KNOWN_AUTHORITIES : undefined,
      clientId: config.ENTRA_CLIENT_ID!,
      clientSecret: config.ENTRA_CLIENT_SECRET!,
      referralsScopes: [config.PC_REFERRALS_SCOPE, 'offline_access'],
      webhookScopes: [config.PC_WEBHOOK_SCOPE],
      redirectUri: config.ENTRA_REDIRECT_URI ?? `${publicUrl.replace(/\/$/, '')}/auth/callback`,
    },
    webhook: {
      certificateHosts: config.WEBHOOK_CERT_HOSTS,
      certificatePathPattern: new RegExp(config.WEBHOOK_CERT_PATH_PATTERN),
      trustedRootsPem: [trustedRoots!],
      certificateFetchCaPem: fetchCa,
    },
    salesforce: {
      loginUrl: config.SF_LOGIN_URL!,
      clientId: config.SF_CLIENT_ID!,
      clientSecret: config.SF_CLIENT_SECRET!,
      pubsubEndpoint: config.SF_PUBSUB_ENDPOINT,
      pubsubTls: config.SF_PUBSUB_TLS,
    },
  };
}
