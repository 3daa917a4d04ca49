import assert from 'node:assert/strict';
import { verify, X509Certificate } from 'node:crypto';
import https from 'node:https';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { waitFor } from '../../../tests/support/waitFor.ts';
import { createPartnerCenterSandbox, REFERRAL_EVENTS } from './index.ts';
import type { PartnerCenterSandbox } from './index.ts';
import {
  APP_TOKEN,
  DELEGATED_TOKEN,
  callApi,
  referralBody,
  startWebhookReceiver,
  testTokenVerifier,
} from './testSupport.ts';
import type { WebhookReceiver } from './testSupport.ts';

const REGISTRATION = '/webhooks/v1/registration';

function download(url: string, ca: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe('Partner Center sandbox webhooks', () => {
  let sandbox: PartnerCenterSandbox;
  let receiver: WebhookReceiver;
  const api = (method: string, path: string, options: Parameters<typeof callApi>[3] = {}) =>
    callApi(sandbox.url, method, path, { token: APP_TOKEN, ...options });
  const registerReceiver = async (extra: Record<string, unknown> = {}) => {
    const response = await api('POST', REGISTRATION, {
      body: { WebhookUrl: receiver.url, WebhookEvents: [...REFERRAL_EVENTS, 'test-created'], ...extra },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
  };

  before(async () => {
    sandbox = await createPartnerCenterSandbox({
      verifyAccessToken: testTokenVerifier,
      deliveryBackoffMs: 1,
      validationEventsPerMinute: 100,
    });
  });
  after(() => sandbox.close());
  beforeEach(async () => {
    sandbox.reset();
    receiver = await startWebhookReceiver();
  });
  afterEach(() => receiver.close());

  it('lists the referral events and test-created', async () => {
    const response = await api('GET', `${REGISTRATION}/events`);
    assert.equal(response.status, 200);
    for (const event of [
      'referral-created',
      'referral-updated',
      'related-referral-created',
      'related-referral-updated',
      'test-created',
    ]) {
      assert.ok((response.body as string[]).includes(event), event);
    }
  });

  it('answers 404 before registration, 409 to a second POST, and lets PUT replace the registration', async () => {
    assert.equal((await api('GET', REGISTRATION)).status, 404);
    await registerReceiver();
    const again = await api('POST', REGISTRATION, {
      body: { WebhookUrl: 'https://elsewhere.example/hook', WebhookEvents: ['referral-created'] },
    });
    assert.equal(again.status, 409);
    assert.equal(
      (again.body as { description: string }).description,
      'Registration already exists, use the PUT method to update a registration.',
    );

    // Keys are matched case-insensitively: the swagger model uses camelCase.
    const put = await api('PUT', REGISTRATION, {
      body: {
        webhookUrl: 'https://elsewhere.example/hook',
        webhookEvents: ['referral-updated'],
        signatureTokenToMsSignatureHeader: true,
      },
    });
    assert.equal(put.status, 200);
    const view = await api('GET', REGISTRATION, { token: DELEGATED_TOKEN, headers: {} });
    assert.equal(view.status, 401, 'a token for the referrals audience is refused by the webhook API');
    const current = (await api('GET', REGISTRATION)).body as Record<string, unknown>;
    assert.equal(current.WebhookUrl, 'https://elsewhere.example/hook');
    assert.deepEqual(current.WebhookEvents, ['referral-updated']);
    assert.equal(current.SignatureTokenToMsSignatureHeader, true);
    assert.ok(current.SubscriberId);
  });

  it('rejects a registration with an unknown event or a bad URL, naming the key', async () => {
    const badEvent = await api('POST', REGISTRATION, {
      body: { WebhookUrl: receiver.url, WebhookEvents: ['referral-deleted'] },
    });
    assert.equal(badEvent.status, 400);
    assert.deepEqual((badEvent.body as { data: string[] }).data, ['WebhookEvents']);
    const badUrl = await api('POST', REGISTRATION, {
      body: { WebhookUrl: 'not a url', WebhookEvents: ['referral-created'] },
    });
    assert.deepEqual((badUrl.body as { data: string[] }).data, ['WebhookUrl']);
  });

  it('delivers a referral change signed with RSA-SHA256 over the exact body, verifiable with the served certificate', async () => {
    await registerReceiver();
    const referral = sandbox.referrals.createAsMicrosoft(referralBody());
    const [delivery] = await waitFor(() => (receiver.received.length === 1 ? receiver.received : undefined), {
      message: 'the referral-created delivery',
    });
    const payload = JSON.parse(delivery.body.toString('utf8'));
    assert.deepEqual(Object.keys(payload), [
      'EventName',
      'ResourceUri',
      'ResourceName',
      'AuditUri',
      'ResourceChangeUtcDate',
    ]);
    assert.equal(payload.EventName, 'referral-created');
    assert.equal(payload.ResourceUri, `${sandbox.url}/engagements/v1/referrals/${referral.id}`);
    assert.equal(payload.ResourceName, 'referral');
    assert.equal(payload.AuditUri, null);
    assert.match(payload.ResourceChangeUtcDate, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}\+00:00$/);

    assert.equal(delivery.headers['x-ms-signature-algorithm'], 'rsa-sha256');
    assert.equal(delivery.headers['x-ms-certificate-url'], sandbox.certificateUrl);
    assert.equal(
      sandbox.certificateUrl,
      `${sandbox.certificateBaseUrl}/cert/pcnotifications-dispatch.microsoft.com.cer`,
    );
    const match = /^Signature ([A-Za-z0-9+/=]+)$/.exec(String(delivery.headers.authorization));
    assert.ok(match, 'Authorization: Signature <base64>');

    const served = await download(sandbox.certificateUrl, sandbox.httpsCaPem);
    assert.equal(served.status, 200);
    const leaf = new X509Certificate(served.body);
    assert.match(leaf.subject, /^O=Microsoft Corporation$/m);
    assert.match(leaf.subject, /^CN=pcnotifications-dispatch\.microsoft\.com$/m);
    assert.ok(verify('sha256', delivery.body, leaf.publicKey, Buffer.from(match[1], 'base64')));
    assert.ok(
      !verify(
        'sha256',
        Buffer.concat([delivery.body, Buffer.from(' ')]),
        leaf.publicKey,
        Buffer.from(match[1], 'base64'),
      ),
    );
  });

  it('puts the signature in x-ms-signature when the registration asks for it', async () => {
    await registerReceiver({ SignatureTokenToMsSignatureHeader: true });
    const referral = sandbox.referrals.createAsMicrosoft(referralBody());
    sandbox.referrals.update(referral.id, { status: 'Active', substatus: 'Accepted' });
    await waitFor(() => receiver.received.length === 2, { message: 'two deliveries' });
    for (const delivery of receiver.received) {
      assert.equal(delivery.headers.authorization, undefined);
      assert.match(String(delivery.headers['x-ms-signature']), /^Signature [A-Za-z0-9+/=]+$/);
    }
    const names = receiver.received.map((d) => JSON.parse(d.body.toString('utf8')).EventName).sort();
    assert.deepEqual(names, ['referral-created', 'referral-updated']);
  });

  it('raises related-referral events for the other referrals of an engagement', async () => {
    await registerReceiver();
    const mine = await callApi(sandbox.url, 'POST', '/v1.0/engagements/referrals', {
      body: referralBody({ type: 'Shared' }),
    });
    const engagementId = (mine.body as { engagementId: string }).engagementId;
    await callApi(sandbox.url, 'POST', '/v1.0/engagements/referrals', {
      body: referralBody({ type: 'Shared', engagementId }),
    });
    await waitFor(() => receiver.received.length === 3, { message: 'three deliveries' });
    const names = receiver.received.map((d) => JSON.parse(d.body.toString('utf8')).EventName).sort();
    assert.deepEqual(names, ['referral-created', 'referral-created', 'related-referral-created']);
  });

  it('makes 10 attempts at a failing endpoint and then drops the event for good', async () => {
    await registerReceiver();
    receiver.respondWith = () => 500;
    sandbox.referrals.createAsMicrosoft(referralBody());
    const [record] = await waitFor(
      () =>
        sandbox.deliveries.list().some((d) => d.state === 'dropped') ? sandbox.deliveries.list() : undefined,
      { message: 'the event to be dropped' },
    );
    assert.equal(record.attempts.length, 10);
    assert.ok(record.attempts.every((attempt) => attempt.status === 500 && !attempt.ok));
    assert.equal(receiver.received.length, 10);
    assert.ok(
      receiver.received.every((d) => d.body.equals(receiver.received[0].body)),
      'every attempt sends the same bytes',
    );
  });

  it('counts a network error as a failed attempt and succeeds when the endpoint recovers', async () => {
    await registerReceiver();
    receiver.respondWith = (n) => (n <= 2 ? 503 : 204);
    sandbox.referrals.createAsMicrosoft(referralBody());
    const [record] = await waitFor(
      () =>
        sandbox.deliveries.list().some((d) => d.state === 'delivered')
          ? sandbox.deliveries.list()
          : undefined,
      { message: 'delivery' },
    );
    assert.deepEqual(
      record.attempts.map((attempt) => attempt.status),
      [503, 503, 204],
    );
    assert.equal(record.attempts.at(-1)!.status, 204);

    await receiver.close();
    sandbox.referrals.update(record.resourceUri.split('/').at(-1)!, { name: 'renamed' });
    const [, unreachable] = await waitFor(
      () => (sandbox.deliveries.list()[1]?.state === 'dropped' ? sandbox.deliveries.list() : undefined),
      { message: 'unreachable endpoint to be given up' },
    );
    assert.equal(unreachable.attempts.length, 10);
    assert.ok(unreachable.attempts.every((attempt) => attempt.status === null && attempt.error));
  });

  it('sends a test-created event and reports one result per delivery attempt', async () => {
    await registerReceiver();
    receiver.respondWith = (n) => (n <= 2 ? 500 : 200);
    const posted = await api('POST', `${REGISTRATION}/validationEvents`);
    assert.equal(posted.status, 200);
    const { correlationId } = posted.body as { correlationId: string };
    const result = await waitFor(
      async () => {
        const view = (await api('GET', `${REGISTRATION}/validationEvents/${correlationId}`)).body as {
          status: string;
          results: { responseCode: string; systemError: boolean }[];
        };
        return view.status === 'completed' ? view : undefined;
      },
      { message: 'test event completion' },
    );
    assert.deepEqual(
      result.results.map((r) => r.responseCode),
      ['InternalServerError', 'InternalServerError', 'OK'],
    );
    assert.ok(result.results.every((r) => !r.systemError));
    const payload = JSON.parse(receiver.received.at(-1)!.body.toString('utf8'));
    assert.equal(payload.EventName, 'test-created');
    assert.equal(payload.ResourceName, 'test');
    assert.equal(payload.ResourceUri, `${sandbox.url}${REGISTRATION}/validationEvents/${correlationId}`);
    assert.equal(
      (await api('GET', `${REGISTRATION}/validationEvents/00000000-0000-4000-8000-000000000000`)).status,
      404,
    );
  });

  it('loses the next N deliveries without sending them', async () => {
    await registerReceiver();
    sandbox.faults.loseNextDeliveries(2);
    const lost = [
      sandbox.referrals.createAsMicrosoft(referralBody()),
      sandbox.referrals.createAsMicrosoft(referralBody()),
    ];
    const kept = sandbox.referrals.createAsMicrosoft(referralBody());
    await waitFor(() => receiver.received.length === 1, { message: 'the third delivery' });
    assert.equal(
      JSON.parse(receiver.received[0].body.toString('utf8')).ResourceUri,
      `${sandbox.url}/engagements/v1/referrals/${kept.id}`,
    );
    const states = sandbox.deliveries
      .list()
      .map((d) => [d.resourceUri.split('/').at(-1), d.state, d.attempts.length]);
    assert.deepEqual(
      states.slice(0, 2),
      lost.map((r) => [r.id, 'lost', 0]),
    );
  });

  it('answers the API call while the delivery is still waiting on the receiver', async () => {
    await registerReceiver();
    let release!: () => void;
    receiver.holdUntil = new Promise<void>((resolve) => (release = resolve));
    const created = await callApi(sandbox.url, 'POST', '/v1.0/engagements/referrals', {
      body: referralBody(),
    });
    assert.equal(created.status, 201);
    await waitFor(() => receiver.received.length === 1, { message: 'the delivery to arrive' });
    assert.equal(sandbox.deliveries.list()[0].state, 'pending');
    release();
    await waitFor(() => sandbox.deliveries.list()[0].state === 'delivered', {
      message: 'the held delivery to complete',
    });
  });
});
