import type { Sandboxes } from './index.ts';
import { SANDBOX_REDIRECT_URI, SANDBOX_RELAY_CLIENT, SANDBOX_TENANT_ID } from './index.ts';

/**
 * The production settings of a relay whose clouds are these sandboxes: what an operator would put
 * in Heroku config vars or a container's env file, with the sandboxes' URLs and credentials in
 * place of the real ones. A relay started with them runs in COSELL_MODE=production and takes
 * every production code path; only NODE_EXTRA_CA_CERTS (the sandbox CA) is needed beyond what a
 * real deployment sets. Values are single-line, so the result works as a `docker run --env-file`.
 */
export function sandboxProductionEnv(
  sandboxes: Sandboxes,
  options: {
    databaseUrl: string;
    port: number;
    /** Writes a PEM file and returns its path (the *_FILE settings). */
    writeFile(name: string, text: string): string;
    /** Port of the loopback address `relay login` waits on; Entra ignores a loopback port (RFC 8252). */
    loginPort?: number;
    tokenCacheKey: string;
    adminToken: string;
  },
): Record<string, string> {
  const { partnerCenter, entra, salesforce, pubsub } = sandboxes;
  const redirect = new URL(SANDBOX_REDIRECT_URI);
  if (options.loginPort) redirect.port = String(options.loginPort);
  return {
    COSELL_MODE: 'production',
    PORT: String(options.port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${options.port}`,
    DATABASE_URL: options.databaseUrl,
    TOKEN_CACHE_KEY: options.tokenCacheKey,
    ADMIN_TOKEN: options.adminToken,
    PC_REFERRALS_BASE_URL: partnerCenter.url,
    PC_WEBHOOK_API_BASE_URL: partnerCenter.url,
    ENTRA_AUTHORITY_HOST: entra.url,
    ENTRA_TENANT_ID: SANDBOX_TENANT_ID,
    ENTRA_KNOWN_AUTHORITIES: entra.knownAuthorities.join(','),
    ENTRA_CLIENT_ID: SANDBOX_RELAY_CLIENT.clientId,
    ENTRA_CLIENT_SECRET: SANDBOX_RELAY_CLIENT.clientSecret,
    ENTRA_REDIRECT_URI: redirect.toString(),
    WEBHOOK_CERT_HOSTS: new URL(partnerCenter.certificateBaseUrl).host,
    WEBHOOK_TRUSTED_ROOTS_FILE: options.writeFile('trusted-roots.pem', partnerCenter.trustedRootPem),
    WEBHOOK_CERT_FETCH_CA_FILE: options.writeFile('certificate-fetch-ca.pem', partnerCenter.httpsCaPem),
    SF_LOGIN_URL: salesforce.relayCredentials.loginUrl,
    SF_CLIENT_ID: salesforce.relayCredentials.clientId,
    SF_CLIENT_SECRET: salesforce.relayCredentials.clientSecret,
    SF_PUBSUB_ENDPOINT: pubsub.endpoint,
    SF_PUBSUB_TLS: 'true',
    // Entra and Pub/Sub are only reachable over TLS (and with `https: true` every other endpoint):
    // the process trusts the sandbox CA the way a production host trusts a corporate CA.
    NODE_EXTRA_CA_CERTS: sandboxes.tls.caFile,
  };
}
