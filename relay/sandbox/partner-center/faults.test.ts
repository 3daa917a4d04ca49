import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { waitFor } from '../../../tests/support/waitFor.ts';
import { createPartnerCenterSandbox } from './index.ts';
import type { DeliveryRecord, PartnerCenterSandbox, Referral } from './index.ts';
import { APP_TOKEN, callApi, referralBody, startWebhookReceiver, testTokenVerifier } from './testSupport.ts';

const REFERRALS = '/v1.0/engagements/referrals';

describe('Partner Center sandbox faults and admin API', () => {
  let sandbox: PartnerCenterSandbox;
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[3]) =>
    callApi(sandbox.url, method, path, options);
  const admin = (method: string, path: string, body?: unknown) =>
    callApi(sandbox.url, method, `/_sandbox/${path}`, { token: null, body });

  before(async () => {
    sandbox = await createPartnerCenterSandbox({
      verifyAccessToken: testTokenVerifier,
      deliveryBackoffMs: 1,
    });
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it('answers the next N API calls with 429, Retry-After and the documented throttling body', async () => {
    sandbox.faults.throttleNext(2, 7);
    for (let i = 0; i < 2; i++) {
      const response = await api('GET', REFERRALS);
      assert.equal(response.status, 429);
      assert.equal(response.headers.get('retry-after'), '7');
      assert.deepEqual(response.body, {
        statusCode: 429,
        message: 'Rate limit is exceeded. Try again in 7 seconds.',
      });
    }
    assert.equal((await api('GET', REFERRALS)).status, 200);
    assert.equal(sandbox.counters.apiCalls()['GET /v1.0/engagements/referrals'], 3);
  });

  it('answers the next N API calls with 503, then recovers', async () => {
    sandbox.faults.failNext(1);
    const failed = await api('POST', REFERRALS, { body: referralBody() });
    assert.equal(failed.status, 503);
    assert.equal((failed.body as { code: string }).code, 'ServiceUnavailable');
    assert.equal(sandbox.referrals.list().length, 0, 'a refused call has no effect');
    assert.equal((await api('POST', REFERRALS, { body: referralBody() })).status, 201);
  });

  it('adds the configured latency to every API call', async () => {
    sandbox.faults.setLatency(150);
    const started = performance.now();
    await api('GET', REFERRALS);
    assert.ok(performance.now() - started >= 145, 'the answer waited for the latency');
  });

  it('is driven over HTTP by a separate process: faults, Microsoft-side changes, counters, deliveries, reset', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const registered = await callApi(sandbox.url, 'POST', '/webhooks/v1/registration', {
        token: APP_TOKEN,
        body: { WebhookUrl: receiver.url, WebhookEvents: ['referral-created', 'referral-updated'] },
      });
      assert.equal(registered.status, 200);

      const faults = await admin('PUT', 'faults', { throttleNext: 1, retryAfterSeconds: 3 });
      assert.equal(faults.status, 200);
      assert.equal((faults.body as { throttleNext: number }).throttleNext, 1);
      assert.equal((await admin('PUT', 'faults', { throttleNext: -1 })).status, 400);
      assert.equal((await api('GET', REFERRALS)).status, 429);

      const created = await admin('POST', 'referrals', referralBody());
      assert.equal(created.status, 201);
      const referral = created.body as Referral;
      assert.equal(referral.direction, 'Incoming');
      const updated = await admin('PATCH', `referrals/${referral.id}`, {
        status: 'Closed',
        substatus: 'Declined',
      });
      assert.equal(updated.status, 200);
      assert.equal((updated.body as Referral).substatus, 'Declined');
      assert.equal(
        (await admin('PATCH', `referrals/${referral.id}`, { name: 'again' })).status,
        400,
        'terminal for Microsoft too',
      );

      await waitFor(() => receiver.received.length === 2, {
        message: 'both Microsoft-side changes delivered',
      });
      const deliveries = (await admin('GET', 'deliveries')).body as DeliveryRecord[];
      assert.deepEqual(
        deliveries.map((d) => [d.eventName, d.state]),
        [
          ['referral-created', 'delivered'],
          ['referral-updated', 'delivered'],
        ],
      );
      const counters = (await admin('GET', 'counters')).body as {
        apiCalls: Record<string, number>;
        deliveries: { delivered: number; attempts: number };
      };
      assert.equal(counters.apiCalls['GET /v1.0/engagements/referrals'], 1);
      assert.equal(counters.deliveries.delivered, 2);
      assert.equal(counters.deliveries.attempts, 2);

      assert.equal((await admin('PUT', 'signing-identity', { identity: 'expired' })).status, 200);
      assert.equal((await admin('PUT', 'signing-identity', { identity: 'nobody' })).status, 400);

      assert.equal((await admin('POST', 'reset')).status, 204);
      assert.deepEqual((await admin('GET', 'referrals')).body, []);
      assert.deepEqual((await admin('GET', 'deliveries')).body, []);
      assert.equal(
        ((await admin('GET', 'signing-identity')).body as { identity: string }).identity,
        'microsoft',
      );
      assert.equal(sandbox.webhookRegistration(), undefined);
    } finally {
      await receiver.close();
    }
  });
});
