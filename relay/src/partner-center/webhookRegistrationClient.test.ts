import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startStubServer } from '../../../tests/support/stubServer.ts';
import type { StubReply, StubServer } from '../../../tests/support/stubServer.ts';
import { createWebhookRegistrationClient } from './webhookRegistrationClient.ts';
import { RelayError } from '../errors.ts';
import { createLogger, silentLogger } from '../logger.ts';

// A small stand-in for the registration API with its documented behaviour: POST → 409 when a
// registration exists, PUT overwrites, GET → 404 when none.
let server: StubServer<Record<string, unknown> | undefined>;
let baseUrl: string;
let registration: Record<string, unknown> | null;
let calls: string[];
let validationStatus: number;

function json(status: number, body: unknown, headers: Record<string, string> = {}): StubReply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

before(async () => {
  server = await startStubServer<Record<string, unknown> | undefined>((req) => {
    const { body } = req;
    calls.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    const path = req.url;
    if (path === '/webhooks/v1/registration') {
      if (req.method === 'GET')
        return registration
          ? json(200, registration)
          : json(404, { code: 'NotFound', description: 'No registration' });
      if (req.method === 'POST' && registration)
        return json(409, {
          code: '409',
          description: 'Registration already exists, use the PUT method to update a registration.',
        });
      registration = { SubscriberId: 'tenant-1', ...body };
      return json(200, registration);
    }
    if (path === '/webhooks/v1/registration/events')
      return json(200, ['referral-created', 'referral-updated', 'test-created']);
    if (path === '/webhooks/v1/registration/validationEvents' && req.method === 'POST') {
      if (validationStatus === 429)
        return json(
          429,
          { statusCode: 429, message: 'Rate limit is exceeded. Try again in 31 seconds.' },
          { 'retry-after': '31' },
        );
      return json(200, { correlationId: '04af2aea-d413-42db-824e-f328001484d1' });
    }
    if (path === '/webhooks/v1/registration/validationEvents/04af2aea-d413-42db-824e-f328001484d1') {
      return json(200, {
        correlationId: '04af2aea-d413-42db-824e-f328001484d1',
        partnerId: 'tenant-1',
        status: 'completed',
        callbackUrl: 'https://relay.example/webhooks/partner-center',
        results: [
          {
            responseCode: 'OK',
            responseMessage: '',
            systemError: false,
            dateTimeUtc: '2017-12-08T21:39:48.2386997',
          },
        ],
      });
    }
    return json(404, { code: 'NotFound', description: path });
  });
  baseUrl = server.url;
});

after(() => server.close());

beforeEach(() => {
  registration = null;
  calls = [];
  validationStatus = 200;
});

const client = (logger = silentLogger()) =>
  createWebhookRegistrationClient({ baseUrl, getToken: async () => 'app-token', logger });
const EVENTS = [
  'referral-created',
  'referral-updated',
  'related-referral-created',
  'related-referral-updated',
  'test-created',
];

describe('webhookRegistrationClient', () => {
  it('reports no registration as null', async () => {
    assert.equal(await client().get(), null);
  });

  it('registers with POST when the tenant has no registration, replacing nothing', async () => {
    const result = await client().register({
      url: 'https://relay.example/hook',
      events: EVENTS,
      signatureInMsHeader: true,
    });
    assert.equal(result.replaced, null);
    assert.deepEqual(result.registration, {
      subscriberId: 'tenant-1',
      webhookUrl: 'https://relay.example/hook',
      webhookEvents: EVENTS,
      signatureTokenToMsSignatureHeader: true,
    });
    assert.deepEqual(calls, ['POST /webhooks/v1/registration Bearer app-token']);
    assert.deepEqual(await client().get(), result.registration);
  });

  it('overwrites an existing registration with PUT after a 409, returning and warning about the previous URL', async () => {
    registration = {
      SubscriberId: 'tenant-1',
      WebhookUrl: 'https://flow.microsoft.example/connector',
      WebhookEvents: ['referral-created'],
    };
    const lines: string[] = [];
    const logger = createLogger({
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString('utf8'));
          callback();
        },
      }),
    });
    const result = await client(logger).register({
      url: 'https://relay.example/hook',
      events: EVENTS,
      signatureInMsHeader: false,
    });
    assert.equal(result.replaced, 'https://flow.microsoft.example/connector');
    assert.equal(result.registration.webhookUrl, 'https://relay.example/hook');
    assert.deepEqual(
      calls.map((call) => call.split(' ').slice(0, 2).join(' ')),
      ['POST /webhooks/v1/registration', 'GET /webhooks/v1/registration', 'PUT /webhooks/v1/registration'],
    );
    const warning = lines
      .map((line) => JSON.parse(line) as { level: number; previousUrl?: string })
      .find((line) => line.level === 40);
    assert.equal(warning?.previousUrl, 'https://flow.microsoft.example/connector');
    assert.ok(!lines.join('').includes('app-token'));
  });

  it('lists the supported events', async () => {
    assert.deepEqual(await client().listEvents(), ['referral-created', 'referral-updated', 'test-created']);
  });

  it('sends a test event and reads its delivery attempts by correlation id', async () => {
    const correlationId = await client().sendTestEvent();
    assert.equal(correlationId, '04af2aea-d413-42db-824e-f328001484d1');
    const validation = await client().getValidationEvent(correlationId);
    assert.equal(validation.status, 'completed');
    assert.equal(validation.results.length, 1);
    assert.equal(validation.results[0].responseCode, 'OK');
  });

  it('maps the test-event throttle (2 per minute) to PC_THROTTLED with Retry-After', async () => {
    validationStatus = 429;
    await assert.rejects(client().sendTestEvent(), (error: unknown) => {
      assert.ok(error instanceof RelayError);
      assert.equal(error.code, 'PC_THROTTLED');
      assert.equal(error.retryAfterMs, 31_000);
      return true;
    });
  });
});
