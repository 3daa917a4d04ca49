import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SANDBOX_RELAY_CLIENT, startSandboxes } from '../../relay/sandbox/index.ts';
import type { Sandboxes } from '../../relay/sandbox/index.ts';
import { PUBSUB_PROTO_PATH } from '../../relay/src/crm/salesforce/pubsubProto.ts';
import type { ProbeResult, ProbeTargets } from './support/tlsProbe.ts';

/**
 * A production-mode relay pointed at the sandboxes trusts them only through NODE_EXTRA_CA_CERTS.
 * This suite proves the libraries it relies on honour that variable — jsforce (node-fetch over
 * https), msal-node (its https client), Node's fetch (undici) and grpc-js with createSsl() — by
 * running them in a child process against every sandbox served over TLS, with and without the
 * sandbox CA file.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');
const PROBE = path.join(import.meta.dirname, 'support/tlsProbe.ts');
const TLS_REFUSAL =
  /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify the first certificate|SELF_SIGNED_CERT_IN_CHAIN/;

describe('sandboxes over TLS, trusted by another process through NODE_EXTRA_CA_CERTS', () => {
  let sandboxes: Sandboxes;
  let targets: ProbeTargets;

  before(async () => {
    sandboxes = await startSandboxes({ forceAppDir: path.join(ROOT, 'force-app'), https: true });
    const { entra, salesforce, partnerCenter, pubsub } = sandboxes;
    targets = {
      salesforce: { ...salesforce.relayCredentials, organizationId: salesforce.organizationId },
      entra: {
        authority: entra.authority,
        knownAuthorities: entra.knownAuthorities,
        authorityMetadata: entra.authorityMetadata,
        cloudDiscoveryMetadata: entra.cloudDiscoveryMetadata,
        ...SANDBOX_RELAY_CLIENT,
      },
      partnerCenterUrl: partnerCenter.url,
      pubsub: { endpoint: pubsub.endpoint, protoPath: PUBSUB_PROTO_PATH, topic: '/event/Referral_Sync__e' },
    };
  });
  after(() => sandboxes.close());

  async function probe(extraCaFile: string | undefined): Promise<Record<string, ProbeResult>> {
    // Only what a host gives a relay: nothing inherited, in particular not a
    // GRPC_DEFAULT_SSL_ROOTS_FILE_PATH (grpc-js would use that file instead of Node's store).
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    if (extraCaFile) env.NODE_EXTRA_CA_CERTS = extraCaFile;
    const { stdout } = await promisify(execFile)(NODE, [PROBE, JSON.stringify(targets)], { cwd: ROOT, env });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, ProbeResult>;
  }

  it('serves every endpoint with https:// URLs or a TLS-only gRPC port', () => {
    assert.match(sandboxes.salesforce.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(sandboxes.partnerCenter.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(sandboxes.entra.url, /^https:\/\//);
    assert.match(sandboxes.partnerCenter.certificateBaseUrl, /^https:\/\//);
    assert.equal(sandboxes.relaySettings.salesforce.pubsubTls, true);
    assert.equal(sandboxes.entra.certificatePem, sandboxes.tls.caPem, 'Entra chains to the one sandbox CA');
    assert.equal(sandboxes.partnerCenter.httpsCaPem, sandboxes.tls.caPem, 'so does the certificate host');
    assert.equal(sandboxes.pubsub.caPem, sandboxes.tls.caPem, 'and the Pub/Sub server');
  });

  it('jsforce, msal-node, fetch and grpc-js reach every sandbox when the CA file is in NODE_EXTRA_CA_CERTS', async () => {
    const results = await probe(sandboxes.tls.caFile);
    assert.deepEqual(results, {
      jsforce: { ok: true, detail: 'query answered totalSize 0' },
      msal: { ok: true, detail: 'token issued' },
      fetch: { ok: true, detail: 'HTTP 401' },
      grpc: { ok: true, detail: 'topic /event/Referral_Sync__e' },
    });
  });

  it('each of them refuses the sandboxes without it', async () => {
    const results = await probe(undefined);
    // msal-node reports any failed fetch as network_error and drops the cause; the run above
    // with the CA trusted is what ties its failure to the certificate.
    const reasons = { jsforce: TLS_REFUSAL, msal: /network_error/, fetch: TLS_REFUSAL, grpc: TLS_REFUSAL };
    for (const [library, reason] of Object.entries(reasons)) {
      const result = results[library];
      assert.ok(
        result && !result.ok,
        `${library} must fail without trusting the CA: ${JSON.stringify(result)}`,
      );
      assert.match(result.error, reason, library);
    }
  });
});
