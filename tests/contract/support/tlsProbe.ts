/**
 * Run as a child process by sandboxTls.test.ts: the libraries the relay uses in production, each
 * configured only with a URL and credentials, call the HTTPS / TLS sandboxes. Whether they succeed
 * depends solely on what this process trusts (NODE_EXTRA_CA_CERTS or not). Prints one JSON line:
 * per library, `ok` or the error it met.
 */
import { ConfidentialClientApplication } from '@azure/msal-node';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import jsforce from 'jsforce';

export interface ProbeTargets {
  salesforce: { loginUrl: string; clientId: string; clientSecret: string; organizationId: string };
  entra: {
    authority: string;
    knownAuthorities: string[];
    authorityMetadata: string;
    cloudDiscoveryMetadata: string;
    clientId: string;
    clientSecret: string;
  };
  partnerCenterUrl: string;
  pubsub: { endpoint: string; protoPath: string; topic: string };
}

export type ProbeResult = { ok: true; detail: string } | { ok: false; error: string };

const targets = JSON.parse(process.argv[2] ?? '{}') as ProbeTargets;

/** The error's message followed by its causes', which is where the TLS reason usually is. */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current && parts.length < 5;) {
    const { message, code, cause } = current as { message?: string; code?: string; cause?: unknown };
    parts.push([code, message ?? String(current)].filter(Boolean).join(' '));
    current = cause;
  }
  return parts.join(' <- ');
}

async function attempt(run: () => Promise<string>): Promise<ProbeResult> {
  try {
    return { ok: true, detail: await run() };
  } catch (error) {
    return { ok: false, error: describe(error) };
  }
}

let accessToken = 'none';
let instanceUrl = 'https://127.0.0.1';

const results: Record<string, ProbeResult> = {};

results.jsforce = await attempt(async () => {
  const connection = new jsforce.Connection({
    version: '62.0',
    oauth2: {
      loginUrl: targets.salesforce.loginUrl,
      clientId: targets.salesforce.clientId,
      clientSecret: targets.salesforce.clientSecret,
    },
  });
  await connection.authorize({ grant_type: 'client_credentials' });
  accessToken = connection.accessToken ?? 'none';
  instanceUrl = connection.instanceUrl;
  const result = await connection.query('SELECT Id FROM Opportunity');
  return `query answered totalSize ${result.totalSize}`;
});

results.msal = await attempt(async () => {
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: targets.entra.clientId,
      clientSecret: targets.entra.clientSecret,
      authority: targets.entra.authority,
      knownAuthorities: targets.entra.knownAuthorities,
      authorityMetadata: targets.entra.authorityMetadata,
      cloudDiscoveryMetadata: targets.entra.cloudDiscoveryMetadata,
    },
  });
  const token = await app.acquireTokenByClientCredential({
    scopes: ['https://api.partnercenter.microsoft.com/.default'],
  });
  if (!token?.accessToken) throw new Error('no access token');
  return 'token issued';
});

results.fetch = await attempt(async () => {
  // Any HTTP answer proves the TLS handshake; the 401 for a missing token is expected.
  const response = await fetch(`${targets.partnerCenterUrl}/webhooks/v1/registration`);
  return `HTTP ${response.status}`;
});

results.grpc = await attempt(async () => {
  const definition = protoLoader.loadSync(targets.pubsub.protoPath, { keepCase: true, defaults: true });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    eventbus: { v1: { PubSub: grpc.ServiceClientConstructor } };
  };
  // createSsl() with no roots: the system store, which NODE_EXTRA_CA_CERTS extends.
  const client = new proto.eventbus.v1.PubSub(targets.pubsub.endpoint, grpc.credentials.createSsl());
  const metadata = new grpc.Metadata();
  metadata.set('accesstoken', accessToken);
  metadata.set('instanceurl', instanceUrl);
  metadata.set('tenantid', targets.salesforce.organizationId);
  try {
    const topic = await new Promise<{ topic_name: string }>((resolve, reject) =>
      client.GetTopic(
        { topic_name: targets.pubsub.topic },
        metadata,
        (error: Error | null, value: unknown) =>
          error ? reject(error) : resolve(value as { topic_name: string }),
      ),
    );
    return `topic ${topic.topic_name}`;
  } finally {
    client.close();
  }
});

process.stdout.write(`${JSON.stringify(results)}\n`);
