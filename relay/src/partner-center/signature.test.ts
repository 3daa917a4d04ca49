import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createPartnerCenterSandbox } from '../../sandbox/partner-center/index.ts';
import type { PartnerCenterSandbox, SigningIdentityName } from '../../sandbox/partner-center/index.ts';
import {
  APP_TOKEN,
  callApi,
  referralBody,
  startWebhookReceiver,
  testTokenVerifier,
} from '../../sandbox/partner-center/testSupport.ts';
import type { ReceivedRequest, WebhookReceiver } from '../../sandbox/partner-center/testSupport.ts';
import { waitFor } from '../../../tests/support/waitFor.ts';
import { RequestError } from '../errors.ts';
import { createSignatureVerifier } from './signature.ts';
import type { SignatureVerifier, SignatureVerifierOptions } from './signature.ts';

function expectRefusal(code: RequestError['code'], status: number, message: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof RequestError, `expected a RequestError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status, error.message);
    assert.match(error.message, message);
    return true;
  };
}

describe('webhook signature verifier against the Partner Center sandbox', () => {
  let sandbox: PartnerCenterSandbox;
  let receiver: WebhookReceiver;
  let verifier: SignatureVerifier;
  const verifierFor = (
    target: PartnerCenterSandbox,
    overrides: Partial<SignatureVerifierOptions> = {},
  ): SignatureVerifier =>
    createSignatureVerifier({
      allowedCertificateHosts: [new URL(target.certificateBaseUrl).host],
      trustedRootsPem: [target.trustedRootPem],
      httpsCaPem: target.httpsCaPem,
      fetchTimeoutMs: 5000,
      ...overrides,
    });

  /** Registers the receiver, has "Microsoft" create a referral, and returns the delivery as received. */
  const deliver = async (
    options: { identity?: SigningIdentityName; msSignatureHeader?: boolean } = {},
  ): Promise<ReceivedRequest> => {
    const registered = await callApi(sandbox.url, 'PUT', '/webhooks/v1/registration', {
      token: APP_TOKEN,
      body: {
        WebhookUrl: receiver.url,
        WebhookEvents: ['referral-created'],
        SignatureTokenToMsSignatureHeader: options.msSignatureHeader ?? false,
      },
    });
    assert.equal(registered.status, 200);
    sandbox.setSigningIdentity(options.identity ?? 'microsoft');
    const before = receiver.received.length;
    sandbox.referrals.createAsMicrosoft(referralBody());
    return waitFor(() => receiver.received[before], { message: 'a signed delivery' });
  };
  const withHeaders = (
    headers: IncomingHttpHeaders,
    changes: Record<string, string | undefined>,
  ): IncomingHttpHeaders => {
    const copy = { ...headers };
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) delete copy[name];
      else copy[name] = value;
    }
    return copy;
  };

  before(async () => {
    sandbox = await createPartnerCenterSandbox({
      verifyAccessToken: testTokenVerifier,
      deliveryBackoffMs: 1,
    });
  });
  after(() => sandbox.close());
  beforeEach(async () => {
    sandbox.reset();
    receiver = await startWebhookReceiver();
    verifier = verifierFor(sandbox);
  });
  afterEach(() => receiver.close());

  it('accepts a delivery signed in the Authorization header', async () => {
    const delivery = await deliver();
    assert.match(String(delivery.headers.authorization), /^Signature /);
    await verifier.verify(delivery.body, delivery.headers);
  });

  it('accepts x-ms-signature with and without the Signature prefix, and the algorithm in any case', async () => {
    const delivery = await deliver({ msSignatureHeader: true });
    const prefixed = String(delivery.headers['x-ms-signature']);
    assert.match(prefixed, /^Signature /);
    await verifier.verify(delivery.body, delivery.headers);
    await verifier.verify(
      delivery.body,
      withHeaders(delivery.headers, {
        'x-ms-signature': prefixed.replace(/^Signature /, ''),
        'x-ms-signature-algorithm': 'RSA-SHA256',
      }),
    );
  });

  it('downloads the certificate once and serves later deliveries from the cache', async () => {
    const first = await deliver();
    const second = await deliver();
    await Promise.all([
      verifier.verify(first.body, first.headers),
      verifier.verify(first.body, first.headers),
    ]);
    await verifier.verify(second.body, second.headers);
    assert.equal(sandbox.counters.certificateDownloads(), 1);
  });

  it('rejects a webhook whose body was altered after signing', async () => {
    const delivery = await deliver();
    const altered = Buffer.from(
      delivery.body.toString('utf8').replace('referral-created', 'referral-updated'),
    );
    await assert.rejects(
      verifier.verify(altered, delivery.headers),
      expectRefusal('SIGNATURE_INVALID', 401, /^authorization: .*does not match/),
    );
  });

  it('rejects a signature made with a key other than the certificate key', async () => {
    const delivery = await deliver({ identity: 'wrong-key' });
    await assert.rejects(
      verifier.verify(delivery.body, delivery.headers),
      expectRefusal('SIGNATURE_INVALID', 401, /does not match/),
    );
  });

  it('rejects an algorithm other than rsa-sha256', async () => {
    const delivery = await deliver();
    for (const algorithm of ['rsa-sha1', 'hmac-sha256', 'rsa-sha512']) {
      await assert.rejects(
        verifier.verify(
          delivery.body,
          withHeaders(delivery.headers, { 'x-ms-signature-algorithm': algorithm }),
        ),
        expectRefusal('SIGNATURE_INVALID', 401, /^x-ms-signature-algorithm: /),
      );
    }
  });

  it('refuses a certificate URL on a host that is not allowlisted, without downloading it', async () => {
    const delivery = await deliver();
    // The sandbox serves the same certificate on localhost: only the allowlist stops it.
    const url = String(delivery.headers['x-ms-certificate-url']).replace('127.0.0.1', 'localhost');
    await assert.rejects(
      verifier.verify(delivery.body, withHeaders(delivery.headers, { 'x-ms-certificate-url': url })),
      expectRefusal(
        'SIGNATURE_INVALID',
        401,
        /^x-ms-certificate-url: host 'localhost:\d+' is not an allowed/,
      ),
    );
    const otherPort = String(delivery.headers['x-ms-certificate-url']).replace(/:\d+\//, ':1/');
    await assert.rejects(
      verifier.verify(delivery.body, withHeaders(delivery.headers, { 'x-ms-certificate-url': otherPort })),
      expectRefusal('SIGNATURE_INVALID', 401, /not an allowed/),
    );
    assert.equal(sandbox.counters.certificateDownloads(), 0);
  });

  it('refuses a certificate URL over http, with a query, credentials or an unexpected path', async () => {
    const delivery = await deliver();
    const url = String(delivery.headers['x-ms-certificate-url']);
    const cases: [string, RegExp][] = [
      [url.replace('https://', 'http://'), /scheme must be https/],
      [`${url}?sv=1`, /query/],
      [url.replace('https://', 'https://user:pw@'), /credentials/],
      [url.replace('/cert/', '/other/'), /path/],
      [`${url}#frag`, /fragment/],
    ];
    for (const [value, message] of cases) {
      await assert.rejects(
        verifier.verify(delivery.body, withHeaders(delivery.headers, { 'x-ms-certificate-url': value })),
        expectRefusal('SIGNATURE_INVALID', 401, message),
      );
    }
    await assert.rejects(
      verifier.verify(delivery.body, withHeaders(delivery.headers, { 'x-ms-certificate-url': 'not a url' })),
      expectRefusal('REQUEST_INVALID', 400, /^x-ms-certificate-url: /),
    );
  });

  it('rejects a delivery whose certificate cannot be downloaded', async () => {
    const delivery = await deliver();
    const missing = String(delivery.headers['x-ms-certificate-url']).replace(/[^/]+\.cer$/, 'missing.cer');
    await assert.rejects(
      verifier.verify(delivery.body, withHeaders(delivery.headers, { 'x-ms-certificate-url': missing })),
      expectRefusal(
        'SIGNATURE_INVALID',
        401,
        /^x-ms-certificate-url: certificate download failed: answered HTTP 404/,
      ),
    );
    const untrustedTls = verifierFor(sandbox, { httpsCaPem: undefined });
    await assert.rejects(
      untrustedTls.verify(delivery.body, delivery.headers),
      expectRefusal('SIGNATURE_INVALID', 401, /download failed/),
    );
  });

  it('rejects a delivery signed with an expired certificate', async () => {
    const delivery = await deliver({ identity: 'expired' });
    await assert.rejects(
      verifier.verify(delivery.body, delivery.headers),
      expectRefusal('SIGNATURE_INVALID', 401, /expired/),
    );
  });

  it('rejects a certificate whose subject is not O=Microsoft Corporation', async () => {
    const delivery = await deliver({ identity: 'wrong-organization' });
    await assert.rejects(
      verifier.verify(delivery.body, delivery.headers),
      expectRefusal('SIGNATURE_INVALID', 401, /not O=Microsoft Corporation/),
    );
  });

  it('rejects a certificate that does not chain to a trusted root', async () => {
    const delivery = await deliver({ identity: 'untrusted-root' });
    await assert.rejects(
      verifier.verify(delivery.body, delivery.headers),
      expectRefusal('SIGNATURE_INVALID', 401, /does not chain to a trusted root/),
    );
  });

  it('rejects a delivery missing the signature, the algorithm or the certificate URL, naming the header', async () => {
    const delivery = await deliver();
    const cases: [Record<string, string | undefined>, RegExp][] = [
      [{ authorization: undefined }, /^authorization: missing/],
      [{ authorization: 'Bearer abc' }, /^authorization: scheme must be 'Signature'/],
      [{ 'x-ms-signature-algorithm': undefined }, /^x-ms-signature-algorithm: missing/],
      [{ 'x-ms-certificate-url': undefined }, /^x-ms-certificate-url: missing/],
    ];
    for (const [changes, message] of cases) {
      await assert.rejects(
        verifier.verify(delivery.body, withHeaders(delivery.headers, changes)),
        expectRefusal('REQUEST_INVALID', 400, message),
      );
    }
  });

  it('rejects a malformed base64 signature', async () => {
    const delivery = await deliver();
    for (const value of ['Signature abc', 'Signature ab$d', 'Signature YWJj=', 'Signature ====']) {
      await assert.rejects(
        verifier.verify(delivery.body, withHeaders(delivery.headers, { authorization: value })),
        expectRefusal('REQUEST_INVALID', 400, /^authorization: signature is not valid base64/),
      );
    }
    await assert.rejects(
      verifier.verify(
        delivery.body,
        withHeaders(delivery.headers, { authorization: undefined, 'x-ms-signature': 'not*base64' }),
      ),
      expectRefusal('REQUEST_INVALID', 400, /^x-ms-signature: signature is not valid base64/),
    );
  });

  it('rejects a body over the size limit before anything else', async () => {
    const delivery = await deliver();
    const small = verifierFor(sandbox, { maxBodyBytes: delivery.body.length - 1 });
    await assert.rejects(
      small.verify(delivery.body, delivery.headers),
      expectRefusal('PAYLOAD_TOO_LARGE', 413, /^body: larger than/),
    );
    assert.equal(sandbox.counters.certificateDownloads(), 0);
  });

  it('downloads at most the rate limit when 50 deliveries name random certificate paths at once', async () => {
    const delivery = await deliver();
    const base = String(delivery.headers['x-ms-certificate-url']).replace(/[^/]+\.cer$/, '');
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        verifier.verify(
          delivery.body,
          withHeaders(delivery.headers, { 'x-ms-certificate-url': `${base}random-${i}.cer` }),
        ),
      ),
    );
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      expectRefusal('SIGNATURE_INVALID', 401, /^x-ms-certificate-url: /)(result.reason);
    }
    assert.ok(
      sandbox.counters.certificateRequests() <= 10,
      `${sandbox.counters.certificateRequests()} downloads`,
    );
  });

  it('remembers a failed certificate download briefly instead of downloading it for every delivery', async () => {
    const delivery = await deliver();
    const missing = String(delivery.headers['x-ms-certificate-url']).replace(/[^/]+\.cer$/, 'missing.cer');
    for (let i = 0; i < 5; i++) {
      await assert.rejects(
        verifier.verify(delivery.body, withHeaders(delivery.headers, { 'x-ms-certificate-url': missing })),
        expectRefusal('SIGNATURE_INVALID', 401, /answered HTTP 404/),
      );
    }
    assert.equal(sandbox.counters.certificateRequests(), 1);
  });

  it('accepts a certificate renewed behind the same URL after one re-fetch, seconds later', async () => {
    let elapsedMs = 0;
    const clocked = verifierFor(sandbox, { now: () => new Date(Date.now() + elapsedMs) });
    const before = await deliver();
    await clocked.verify(before.body, before.headers);
    await sandbox.renewSigningCertificate();
    const after = await deliver();
    assert.equal(after.headers['x-ms-certificate-url'], before.headers['x-ms-certificate-url']);
    elapsedMs += 5_000;
    await clocked.verify(after.body, after.headers);
    assert.equal(sandbox.counters.certificateDownloads(), 2);
    // The renewed certificate is the cached one now; deliveries signed with the old key fail.
    await assert.rejects(
      clocked.verify(before.body, before.headers),
      expectRefusal('SIGNATURE_INVALID', 401, /does not match/),
    );
    assert.equal(sandbox.counters.certificateDownloads(), 2);
  });

  it('picks up a renewed certificate even after random certificate paths spent the download budget', async () => {
    let elapsedMs = 0;
    const clocked = verifierFor(sandbox, { now: () => new Date(Date.now() + elapsedMs) });
    const before = await deliver();
    await clocked.verify(before.body, before.headers);
    const base = String(before.headers['x-ms-certificate-url']).replace(/[^/]+\.cer$/, '');
    await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        clocked.verify(
          before.body,
          withHeaders(before.headers, { 'x-ms-certificate-url': `${base}flood-${i}.cer` }),
        ),
      ),
    );
    await sandbox.renewSigningCertificate();
    const after = await deliver();
    elapsedMs += 5_000;
    await clocked.verify(after.body, after.headers);
  });

  it('re-fetches a cached certificate at most once per interval while signatures keep failing against it', async () => {
    let elapsedMs = 0;
    const clocked = verifierFor(sandbox, { now: () => new Date(Date.now() + elapsedMs) });
    const forged = await deliver({ identity: 'wrong-key' });
    const attempt = () =>
      assert.rejects(
        clocked.verify(forged.body, forged.headers),
        expectRefusal('SIGNATURE_INVALID', 401, /does not match/),
      );
    for (let i = 0; i < 5; i++) await attempt();
    assert.equal(sandbox.counters.certificateDownloads(), 1);
    elapsedMs += 5_000;
    for (let i = 0; i < 5; i++) await attempt();
    assert.equal(sandbox.counters.certificateDownloads(), 2);
  });

  it('rejects a signing certificate whose keyUsage does not allow digitalSignature', async () => {
    const delivery = await deliver({ identity: 'no-digital-signature' });
    await assert.rejects(
      verifier.verify(delivery.body, delivery.headers),
      expectRefusal('SIGNATURE_INVALID', 401, /keyUsage does not allow digitalSignature/),
    );
  });

  it('rejects a chain through a CA whose keyUsage does not allow keyCertSign', async () => {
    // OpenSSL's issuer check (X509Certificate.checkIssued) already refuses such an issuer, so the
    // chain is not found at all; the verifier's own keyCertSign check is a second line behind it.
    const delivery = await deliver({ identity: 'ca-without-key-cert-sign' });
    await assert.rejects(
      verifier.verify(delivery.body, delivery.headers),
      expectRefusal('SIGNATURE_INVALID', 401, /does not chain to a trusted root/),
    );
  });

  it('rejects a chain with more CAs below an intermediate than its path length allows', async () => {
    const delivery = await deliver({ identity: 'path-length-exceeded' });
    await assert.rejects(
      verifier.verify(delivery.body, delivery.headers),
      expectRefusal('SIGNATURE_INVALID', 401, /allows 0 CA certificate\(s\) below it, the chain has 1/),
    );
  });

  it('rejects a signing certificate whose extendedKeyUsage names no accepted purpose, unless configured', async () => {
    const delivery = await deliver({ identity: 'email-only-eku' });
    await assert.rejects(
      verifier.verify(delivery.body, delivery.headers),
      expectRefusal(
        'SIGNATURE_INVALID',
        401,
        /extendedKeyUsage \(1\.3\.6\.1\.5\.5\.7\.3\.4\) names no accepted/,
      ),
    );
    await verifierFor(sandbox, { acceptedExtendedKeyUsages: ['emailProtection'] }).verify(
      delivery.body,
      delivery.headers,
    );
    assert.throws(
      () => verifierFor(sandbox, { acceptedExtendedKeyUsages: ['signing'] }),
      /acceptedExtendedKeyUsages\[0\]: 'signing'/,
    );
  });

  it('refuses to start without a trusted root', () => {
    assert.throws(() => createSignatureVerifier({ trustedRootsPem: [] }), /trustedRootsPem/);
  });
});

describe('webhook signature verifier with a DER leaf certificate', () => {
  it('accepts a leaf served alone as DER when its issuing intermediate is a trust anchor', async () => {
    const sandbox = await createPartnerCenterSandbox({
      verifyAccessToken: testTokenVerifier,
      certificateFormat: 'der',
    });
    const receiver = await startWebhookReceiver();
    try {
      await callApi(sandbox.url, 'POST', '/webhooks/v1/registration', {
        token: APP_TOKEN,
        body: { WebhookUrl: receiver.url, WebhookEvents: ['referral-created'] },
      });
      sandbox.referrals.createAsMicrosoft(referralBody());
      const delivery = await waitFor(() => receiver.received[0], { message: 'a signed delivery' });
      const options = {
        allowedCertificateHosts: [new URL(sandbox.certificateBaseUrl).host],
        httpsCaPem: sandbox.httpsCaPem,
      };
      await assert.rejects(
        createSignatureVerifier({ ...options, trustedRootsPem: [sandbox.trustedRootPem] }).verify(
          delivery.body,
          delivery.headers,
        ),
        expectRefusal('SIGNATURE_INVALID', 401, /does not chain/),
      );
      await createSignatureVerifier({
        ...options,
        trustedRootsPem: [sandbox.trustedRootPem, sandbox.intermediatePem],
      }).verify(delivery.body, delivery.headers);
    } finally {
      await receiver.close();
      await sandbox.close();
    }
  });
});
