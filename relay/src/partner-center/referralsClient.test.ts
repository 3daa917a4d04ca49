import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../../tests/support/ports.ts';
import { startStubServer } from '../../../tests/support/stubServer.ts';
import type { ReceivedRequest, StubReply, StubServer } from '../../../tests/support/stubServer.ts';
import fc from 'fast-check';
import { parseFilter } from '../../sandbox/partner-center/odataQuery.ts';
import { createReferralsClient, errorMessageOf, odataEquals, parseRetryAfter } from './referralsClient.ts';
import type { Referral } from '../sync/referral.ts';
import { RelayError } from '../errors.ts';
import { silentLogger } from '../logger.ts';

type Handler = (req: ReceivedRequest) => StubReply;

let server: StubServer;
let baseUrl: string;
let routes: Map<string, Handler>;
let requests: ReceivedRequest[];

before(async () => {
  server = await startStubServer((request) => {
    const handler = routes.get(`${request.method} ${decodeURIComponent(request.url)}`);
    return handler
      ? handler(request)
      : json(404, { error: { code: 'NotFound', message: `no route ${request.method} ${request.url}` } });
  });
  baseUrl = server.url;
});

after(() => server.close());

beforeEach(() => {
  server.received.length = 0;
  routes = new Map();
  requests = server.received;
});

function json(status: number, body: unknown, headers: Record<string, string> = {}): StubReply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

const ETAG = '"00006d10-0000-0000-0000-5c70aa630000"';
const referral = (id: string, extra: Partial<Referral> = {}): Referral => ({
  id,
  name: `Deal ${id}`,
  status: 'Active',
  substatus: 'Accepted',
  eTag: ETAG,
  ...extra,
});
const PATH = '/v1.0/engagements/referrals';

function client(overrides: { timeoutMs?: number; baseUrl?: string } = {}) {
  return createReferralsClient({
    baseUrl: overrides.baseUrl ?? baseUrl,
    getToken: async () => 'delegated-token',
    logger: silentLogger(),
    ...(overrides.timeoutMs ? { timeoutMs: overrides.timeoutMs } : {}),
  });
}

async function rejection(promise: Promise<unknown>): Promise<RelayError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RelayError, String(error));
    return error;
  }
  assert.fail('expected a rejection');
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('referralsClient', () => {
  it('gets a referral with its eTag and unknown fields, sending the bearer token and request/correlation ids', async () => {
    routes.set(`GET ${PATH}/abc`, () => json(200, referral('abc', { futureField: { nested: 1 } })));
    const got = await client().get('abc');
    assert.equal(got.eTag, ETAG);
    assert.deepEqual(got.futureField, { nested: 1 });
    const [request] = requests;
    assert.equal(request.headers.authorization, 'Bearer delegated-token');
    assert.match(String(request.headers['ms-requestid']), GUID);
    assert.match(String(request.headers['ms-correlationid']), GUID);
    assert.notEqual(request.headers['ms-requestid'], request.headers['ms-correlationid']);
  });

  it('lists every page by following @odata.nextLink, passing $filter, $orderby and $top', async () => {
    routes.set(`GET ${PATH}?$filter=status eq 'Active'&$orderby=updatedDateTime desc&$top=2`, () =>
      json(200, {
        value: [referral('1'), referral('2')],
        '@odata.nextLink': `${baseUrl}${PATH}?$skiptoken=page2`,
      }),
    );
    routes.set(`GET ${PATH}?$skiptoken=page2`, () => json(200, { value: [referral('3')] }));
    const ids: string[] = [];
    for await (const item of client().list({
      filter: "status eq 'Active'",
      orderBy: 'updatedDateTime desc',
      top: 2,
    }))
      ids.push(item.id ?? '');
    assert.deepEqual(ids, ['1', '2', '3']);
    assert.equal(requests.length, 2);
  });

  it('sends an equality $filter whose value holds a quote as one OData string literal', async () => {
    const hostile = "x' or status eq 'Active";
    routes.set(`GET ${PATH}?$filter=externalReferenceId eq 'x'' or status eq ''Active'`, () =>
      json(200, { value: [] }),
    );
    const found: Referral[] = [];
    for await (const item of client().list({ filter: odataEquals('externalReferenceId', hostile) }))
      found.push(item);
    assert.deepEqual(found, []);
    assert.equal(requests.length, 1);
  });

  it('makes an equality $filter that an OData parser reads as exactly the value given, whatever it holds', () => {
    const noTicks = () => 0n;
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), (value, extra) => {
        const matches = parseFilter(odataEquals('externalReferenceId', value));
        assert.equal(matches({ externalReferenceId: value }, noTicks), true);
        assert.equal(matches({ externalReferenceId: value + extra }, noTicks), false);
      }),
    );
  });

  it('refuses to follow an @odata.nextLink to another origin and sends it no token', async () => {
    routes.set(`GET ${PATH}`, () =>
      json(200, {
        value: [referral('1')],
        '@odata.nextLink': 'https://evil.example/v1.0/referrals?$skiptoken=x',
      }),
    );
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const item of client().list()) seen.push(item.id ?? '');
      })(),
    );
    assert.equal(error.code, 'PC_HTTP_ERROR');
    assert.match(error.message, /evil\.example/);
    assert.deepEqual(seen, ['1']);
    assert.equal(requests.length, 1);
  });

  it('stops a listing whose nextLink repeats instead of paging forever', async () => {
    routes.set(`GET ${PATH}`, () => json(200, { value: [], '@odata.nextLink': `${baseUrl}${PATH}` }));
    const error = await rejection(
      (async () => {
        for await (const _item of client().list()) void _item;
      })(),
    );
    assert.equal(error.code, 'PC_HTTP_ERROR');
  });

  it('creates a referral with POST and returns the populated resource', async () => {
    routes.set(`POST ${PATH}`, (req) =>
      json(201, { ...(JSON.parse(req.text) as Referral), id: 'new-1', eTag: ETAG }),
    );
    const created = await client().create(
      { name: 'Contoso', type: 'Independent' },
      { requestId: '11111111-2222-4333-8444-555555555555' },
    );
    assert.equal(created.id, 'new-1');
    assert.equal(created.name, 'Contoso');
    assert.equal(requests[0].headers['content-type'], 'application/json');
    assert.equal(requests[0].headers['ms-requestid'], '11111111-2222-4333-8444-555555555555');
  });

  it('patches with JSON Patch, If-Match carrying the eTag verbatim, and Prefer: return=representation', async () => {
    routes.set(`PATCH ${PATH}/abc`, (req) =>
      json(200, referral('abc', { substatus: 'Won', eTag: '"new"', echo: JSON.parse(req.text) as unknown })),
    );
    const operations = [
      { op: 'replace' as const, path: '/status', value: 'Closed' },
      { op: 'replace' as const, path: '/substatus', value: 'Won' },
    ];
    const patched = await client().patch('abc', operations, ETAG);
    assert.equal(patched.eTag, '"new"');
    assert.deepEqual(patched.echo, operations);
    assert.equal(requests[0].headers['if-match'], ETAG);
    assert.equal(requests[0].headers.prefer, 'return=representation');
  });

  it('reads the referral when a PATCH answers 204 without a representation', async () => {
    routes.set(`PATCH ${PATH}/abc`, () => ({ status: 204 }));
    routes.set(`GET ${PATH}/abc`, () => json(200, referral('abc', { substatus: 'Won' })));
    assert.equal(
      (await client().patch('abc', [{ op: 'replace', path: '/substatus', value: 'Won' }], ETAG)).substatus,
      'Won',
    );
    assert.deepEqual(
      requests.map((request) => request.method),
      ['PATCH', 'GET'],
    );
  });

  it('maps a stale eTag (412) to PC_CONFLICT, not retryable', async () => {
    routes.set(`PATCH ${PATH}/abc`, () =>
      json(412, { code: 'PreconditionFailed', description: 'The eTag does not match' }),
    );
    const error = await rejection(client().patch('abc', [], '"stale"'));
    assert.equal(error.code, 'PC_CONFLICT');
    assert.equal(error.retryable, false);
    assert.equal(error.status, 412);
  });

  it('maps 429 to PC_THROTTLED with retryAfterMs from Retry-After', async () => {
    routes.set(`GET ${PATH}/abc`, () =>
      json(
        429,
        { statusCode: 429, message: 'Rate limit is exceeded. Try again in 57 seconds.' },
        { 'retry-after': '57' },
      ),
    );
    const error = await rejection(client().get('abc'));
    assert.equal(error.code, 'PC_THROTTLED');
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 57_000);
    assert.match(error.message, /Rate limit is exceeded/);
  });

  it('maps 5xx to PC_UNAVAILABLE (retryable), 404 to PC_NOT_FOUND and 401/403 to AUTH_FAILED', async () => {
    routes.set(`GET ${PATH}/down`, () => json(503, { message: 'Service Unavailable' }));
    routes.set(`GET ${PATH}/denied`, () =>
      json(403, { error: { code: 'Forbidden', message: 'User is not a Referral Admin' } }),
    );
    routes.set(`GET ${PATH}/unauthenticated`, () => json(401, {}));
    const down = await rejection(client().get('down'));
    assert.deepEqual([down.code, down.retryable], ['PC_UNAVAILABLE', true]);
    const missing = await rejection(client().get('missing'));
    assert.deepEqual([missing.code, missing.retryable], ['PC_NOT_FOUND', false]);
    const denied = await rejection(client().get('denied'));
    assert.deepEqual([denied.code, denied.retryable], ['AUTH_FAILED', false]);
    assert.match(denied.message, /not a Referral Admin/);
    assert.equal((await rejection(client().get('unauthenticated'))).code, 'AUTH_FAILED');
  });

  it('maps 400 to PC_VALIDATION carrying the server message, whatever the error body shape', async () => {
    routes.set(`POST ${PATH}`, () =>
      json(400, { code: '400', description: 'Solution ID is required', data: [], source: 'Referrals' }),
    );
    const error = await rejection(client().create({ name: 'x' }));
    assert.equal(error.code, 'PC_VALIDATION');
    assert.match(error.message, /Solution ID is required/);
    assert.equal(
      errorMessageOf('{"error":{"code":"BadRequest","message":"country is invalid"}}'),
      'country is invalid',
    );
    assert.equal(errorMessageOf('upstream exploded'), 'upstream exploded');
    assert.equal(errorMessageOf(''), 'no error body');
  });

  it('maps a refused connection and a timeout to PC_UNAVAILABLE, retryable', async () => {
    // A port the OS just said is free: nothing listens there.
    const closedUrl = `http://127.0.0.1:${await freePort()}`;
    const refused = await rejection(client({ baseUrl: closedUrl }).get('abc'));
    assert.deepEqual([refused.code, refused.retryable], ['PC_UNAVAILABLE', true]);

    // The handler never answers; the client's own deadline ends the request.
    routes.set(`GET ${PATH}/slow`, () => 'hang');
    const timedOut = await rejection(client({ timeoutMs: 150 }).get('slow'));
    assert.deepEqual([timedOut.code, timedOut.retryable], ['PC_UNAVAILABLE', true]);
    assert.match(timedOut.message, /timed out/);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('5', now), 5000);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
  });
});
