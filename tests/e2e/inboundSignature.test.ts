import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DeliveryRecord, SigningIdentityName } from '../../relay/sandbox/partner-center/index.ts';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import {
  captureDelivery,
  jobsForReferral,
  postDelivery,
  receiptsForReferral,
  referralIdOf,
} from '../support/inboundChecks.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * Signed-delivery checks through the relay's own HTTP endpoint. Every delivery here was signed by
 * the Partner Center sandbox (with its Microsoft identity or one of its deliberately bad ones) and
 * captured before sending; the test then sends it, or a tampered copy, to the relay. A rejected
 * delivery must leave no receipt, no job and no Opportunity behind.
 */
describe('webhook intake: signed deliveries through the relay endpoint', () => {
  let system: TestSystem;
  const pc = () => system.sandboxes.partnerCenter;
  const pool = () => system.relay.database.pool;

  before(async () => {
    // No reconcile during the run: it would sync the captured referrals behind the webhook's back.
    system = await startTestSystem({ env: { RECONCILE_CRON: '0 0 1 1 *' } });
  });
  after(() => system.stop());

  const capture = (identity: SigningIdentityName = 'microsoft'): DeliveryRecord => {
    pc().setSigningIdentity(identity);
    try {
      return captureDelivery(system.sandboxes, () =>
        pc().referrals.createAsMicrosoft(sampleReferral({ name: `Signed by ${identity}` })),
      );
    } finally {
      pc().setSigningIdentity('microsoft');
    }
  };
  const withHeaders = (
    delivery: DeliveryRecord,
    changes: Record<string, string | undefined>,
  ): Record<string, string> => {
    const headers = { ...delivery.headers };
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    return headers;
  };

  /** Sends a bad delivery and proves it was refused as expected and left nothing behind. */
  const expectRejected = async (
    delivery: DeliveryRecord,
    request: { body?: string | Buffer; headers?: Record<string, string> },
    expected: { status: number; code: string; message: RegExp },
  ): Promise<void> => {
    const answer = await postDelivery(
      system.relay.url,
      request.body ?? delivery.body,
      request.headers ?? delivery.headers,
    );
    assert.equal(answer.status, expected.status, JSON.stringify(answer.body));
    assert.equal(answer.body.error?.code, expected.code);
    assert.match(answer.body.error?.message ?? '', expected.message);
    const referralId = referralIdOf(delivery);
    assert.equal(await receiptsForReferral(pool(), referralId), 0, 'no receipt stored');
    assert.equal(await jobsForReferral(pool(), referralId), 0, 'no job enqueued');
    const { rows } = await pool().query<{ n: string }>('select count(*) as n from graphile_worker.jobs');
    assert.equal(Number(rows[0].n), 0, 'the queue is empty');
  };

  it('rejects a webhook whose body was altered after signing', async () => {
    const delivery = capture();
    const altered = delivery.body.replace('referral-created', 'referral-updated');
    await expectRejected(
      delivery,
      { body: altered },
      {
        status: 401,
        code: 'SIGNATURE_INVALID',
        message: /^authorization: the delivery's signature could not be verified/,
      },
    );
  });

  it('rejects a signature made with a key other than the certificate’s', async () => {
    await expectRejected(
      capture('wrong-key'),
      {},
      {
        status: 401,
        code: 'SIGNATURE_INVALID',
        message: /^authorization: the delivery's signature could not be verified/,
      },
    );
  });

  it('rejects an algorithm other than rsa-sha256', async () => {
    const delivery = capture();
    for (const algorithm of ['rsa-sha1', 'hmac-sha256']) {
      await expectRejected(
        delivery,
        { headers: withHeaders(delivery, { 'x-ms-signature-algorithm': algorithm }) },
        {
          status: 401,
          code: 'SIGNATURE_INVALID',
          message: /^x-ms-signature-algorithm: the delivery's signature could not be verified/,
        },
      );
    }
  });

  it('rejects a certificate URL on a host that is not allowlisted, without downloading it', async () => {
    const delivery = capture();
    const downloads = pc().counters.certificateDownloads();
    // The sandbox serves the very same certificate on localhost: only the allowlist stops it.
    const url = delivery.headers['x-ms-certificate-url'].replace('127.0.0.1', 'localhost');
    await expectRejected(
      delivery,
      { headers: withHeaders(delivery, { 'x-ms-certificate-url': url }) },
      {
        status: 401,
        code: 'SIGNATURE_INVALID',
        message: /^x-ms-certificate-url: the delivery's signature could not be verified/,
      },
    );
    assert.equal(pc().counters.certificateDownloads(), downloads, 'nothing downloaded');
  });

  it('rejects a certificate URL over http instead of https', async () => {
    const delivery = capture();
    const url = delivery.headers['x-ms-certificate-url'].replace('https://', 'http://');
    await expectRejected(
      delivery,
      { headers: withHeaders(delivery, { 'x-ms-certificate-url': url }) },
      {
        status: 401,
        code: 'SIGNATURE_INVALID',
        message: /^x-ms-certificate-url: the delivery's signature could not be verified/,
      },
    );
  });

  it('rejects a delivery signed with an expired certificate', async () => {
    await expectRejected(
      capture('expired'),
      {},
      {
        status: 401,
        code: 'SIGNATURE_INVALID',
        message: /^x-ms-certificate-url: the delivery's signature could not be verified/,
      },
    );
  });

  it('rejects a certificate whose subject is not O=Microsoft Corporation', async () => {
    await expectRejected(
      capture('wrong-organization'),
      {},
      {
        status: 401,
        code: 'SIGNATURE_INVALID',
        message: /^x-ms-certificate-url: the delivery's signature could not be verified/,
      },
    );
  });

  it('rejects a certificate that does not chain to the trusted root', async () => {
    await expectRejected(
      capture('untrusted-root'),
      {},
      {
        status: 401,
        code: 'SIGNATURE_INVALID',
        message: /^x-ms-certificate-url: the delivery's signature could not be verified/,
      },
    );
  });

  it('rejects a delivery missing the signature, the algorithm or the certificate URL, naming the header', async () => {
    const delivery = capture();
    const cases: Array<[Record<string, string | undefined>, RegExp]> = [
      [{ authorization: undefined }, /^authorization: missing/],
      [{ 'x-ms-signature-algorithm': undefined }, /^x-ms-signature-algorithm: missing/],
      [{ 'x-ms-certificate-url': undefined }, /^x-ms-certificate-url: missing/],
    ];
    for (const [changes, message] of cases) {
      await expectRejected(
        delivery,
        { headers: withHeaders(delivery, changes) },
        { status: 400, code: 'REQUEST_INVALID', message },
      );
    }
    await expectRejected(
      delivery,
      { headers: { 'content-type': 'application/json' } },
      { status: 400, code: 'REQUEST_INVALID', message: /^authorization: missing/ },
    );
  });

  it('rejects a malformed base64 signature', async () => {
    const delivery = capture();
    for (const value of ['Signature abc', 'Signature ab$d', 'Signature ====']) {
      await expectRejected(
        delivery,
        { headers: withHeaders(delivery, { authorization: value }) },
        { status: 400, code: 'REQUEST_INVALID', message: /^authorization: signature is not valid base64/ },
      );
    }
  });

  it('answers a failed certificate download with a 401 that does not echo what the download returned', async () => {
    const delivery = capture();
    const missing = delivery.headers['x-ms-certificate-url'].replace(/[^/]+\.cer$/, 'missing.cer');
    const answer = await postDelivery(
      system.relay.url,
      delivery.body,
      withHeaders(delivery, { 'x-ms-certificate-url': missing }),
    );
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error?.code, 'SIGNATURE_INVALID');
    const message = answer.body.error?.message ?? '';
    assert.match(message, /^x-ms-certificate-url: the delivery's signature could not be verified/);
    for (const echoed of ['404', 'HTTP', 'download', 'missing.cer'])
      assert.ok(!message.includes(echoed), message);
  });

  it('rejects a body over the size limit with 413', async () => {
    const delivery = capture();
    const limit = system.config.WEBHOOK_MAX_BODY_BYTES;
    const padded = delivery.body.replace(/}$/, `,"Padding":"${'x'.repeat(limit)}"}`);
    await expectRejected(
      delivery,
      { body: padded },
      { status: 413, code: 'PAYLOAD_TOO_LARGE', message: /^body: larger than/ },
    );
  });

  it('accepts a valid delivery signed in the Authorization header and syncs it', async () => {
    const delivery = capture();
    assert.match(delivery.headers.authorization, /^Signature /);
    const answer = await postDelivery(system.relay.url, delivery.body, delivery.headers);
    assert.deepEqual([answer.status, answer.body.status], [200, 'accepted']);
    const id = referralIdOf(delivery);
    await waitFor(
      () => system.sandboxes.salesforce.store.findBy('Opportunity', 'Referral_Identifier__c', id)[0],
      { message: 'the Opportunity' },
    );
  });

  it('accepts a valid delivery signed in x-ms-signature and syncs it', async () => {
    await system.relay.webhooks.register({
      url: `${system.relay.url}/webhooks/partner-center`,
      events: ['referral-created', 'referral-updated'],
      signatureInMsHeader: true,
    });
    const delivery = capture();
    assert.equal(delivery.headers.authorization, undefined);
    assert.match(delivery.headers['x-ms-signature'], /^Signature /);
    const answer = await postDelivery(system.relay.url, delivery.body, delivery.headers);
    assert.deepEqual([answer.status, answer.body.status], [200, 'accepted']);
    const id = referralIdOf(delivery);
    await waitFor(
      () => system.sandboxes.salesforce.store.findBy('Opportunity', 'Referral_Identifier__c', id)[0],
      { message: 'the Opportunity' },
    );
    // Every rejected referral is still without an Opportunity: nothing leaked past the checks.
    const synced = system.sandboxes.salesforce.store.all('Opportunity').map((o) => o.Name);
    assert.deepEqual(synced.sort(), ['Signed by microsoft', 'Signed by microsoft']);
  });
});
