import { ConfidentialClientApplication } from '@azure/msal-node';
import { DynamicsWebApi } from 'dynamics-web-api';
import type { Config } from 'dynamics-web-api';
import { createDataverseSandbox } from '../../../relay/sandbox/dataverse/index.ts';
import type { DataverseSandbox, DataverseSandboxOptions } from '../../../relay/sandbox/dataverse/index.ts';
import { sandboxTls } from '../../../relay/sandbox/partner-center/certificates.ts';
import {
  createEntraAuthority,
  trustSandboxCertificate,
} from '../../../relay/sandbox/partner-center/entraAuthority.ts';
import type { EntraAuthority } from '../../../relay/sandbox/partner-center/entraAuthority.ts';
import { freePort } from '../../support/ports.ts';

/**
 * A Dataverse sandbox over HTTPS with the sandbox Entra authority in front of it, and a plain
 * dynamics-web-api 2.x client that gets its tokens from MSAL by client credentials with the
 * scope `<org url>/.default` — what an admin script or a third-party integration would run.
 */

export const CLIENT = {
  clientId: '5e1f0a2b-0000-4000-8000-0000000d7a11',
  clientSecret: 'contract-client-secret',
};

export interface DataverseContract {
  entra: EntraAuthority;
  sandbox: DataverseSandbox;
  msal: ConfidentialClientApplication;
  client(config?: Config): DynamicsWebApi;
  token(): Promise<string>;
  close(): Promise<void>;
}

export async function startDataverseContract(
  options: Partial<Omit<DataverseSandboxOptions, 'verifyAccessToken'>> = {},
): Promise<DataverseContract> {
  const { caPem } = await sandboxTls();
  trustSandboxCertificate(caPem);
  // The org URL is the sandbox's own HTTPS URL, so the token audience must be known before it listens.
  const port = await freePort();
  const resource = `https://127.0.0.1:${port}`;
  const entra = await createEntraAuthority({
    tenantId: '0d7a0000-0000-4000-8000-00000000c0de',
    clients: [{ ...CLIENT, redirectUris: [] }],
    users: [
      {
        username: 'nobody@contoso.sandbox',
        objectId: '0d7a0000-0000-4000-8000-000000000001',
        name: 'Nobody',
      },
    ],
    audiences: [resource],
  });
  const sandbox = await createDataverseSandbox({
    https: true,
    port,
    verifyAccessToken: (token) => entra.verifyAccessToken(token),
    keyIndexDelayMs: 150,
    ...options,
  });
  const msal = new ConfidentialClientApplication({
    auth: {
      clientId: CLIENT.clientId,
      clientSecret: CLIENT.clientSecret,
      authority: entra.authority,
      authorityMetadata: entra.authorityMetadata,
      cloudDiscoveryMetadata: entra.cloudDiscoveryMetadata,
      knownAuthorities: entra.knownAuthorities,
    },
  });
  const token = async (): Promise<string> => {
    const result = await msal.acquireTokenByClientCredential({ scopes: [`${sandbox.resource}/.default`] });
    if (!result) throw new Error('MSAL returned no token');
    return result.accessToken;
  };
  return {
    entra,
    sandbox,
    msal,
    token,
    client: (config: Config = {}) =>
      new DynamicsWebApi({
        serverUrl: sandbox.url,
        dataApi: { version: '9.2' },
        onTokenRefresh: token,
        ...config,
      }),
    async close() {
      await sandbox.close();
      await entra.close();
    },
  };
}

/** The error dynamics-web-api throws (or returns from a batch): the Dataverse error fields plus the HTTP status. */
export interface WebApiError {
  status: number;
  code?: string;
  message: string;
  headers?: Record<string, string>;
}

export async function failure(promise: Promise<unknown>): Promise<WebApiError> {
  try {
    await promise;
  } catch (error) {
    return error as WebApiError;
  }
  throw new Error('Expected the request to fail');
}
