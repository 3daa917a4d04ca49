import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { SigningIdentityName } from './certificates.ts';
import { SIGNING_IDENTITIES } from './certificates.ts';
import type { Faults } from './faults.ts';
import { ODataQueryError, parseFilter, parseOrderBy } from './odataQuery.ts';
import type { OrderBy, Predicate } from './odataQuery.ts';
import { ReferralError } from './referralStore.ts';
import type { Referral, ReferralStore } from './referralStore.ts';
import { statusCodeName, SUPPORTED_EVENTS } from './webhookDispatcher.ts';
import type { DeliveryRecord, WebhookDispatcher } from './webhookDispatcher.ts';

/**
 * HTTP routing for the sandbox's plain listener: the referrals API (§1), the webhook registration
 * API (§3.1) and the `/_sandbox/` admin API. Every API error leaves in one shape, the documented
 * Partner Center error body `{ code, description, data, source }` (contract §1.8), with `data`
 * listing the field or header at fault; throttling uses its own documented body instead.
 */

export interface AccessTokenClaims {
  kind: 'delegated' | 'app';
  audience: string;
  subject: string;
}

export type AccessTokenVerifier = (token: string) => AccessTokenClaims | null;

/** One API request as the sandbox received it: what tests inspect to see the operations sent. */
export interface RequestLogEntry {
  /** Arrival time (before any injected latency), epoch ms. */
  at: number;
  /** Route key, e.g. `PATCH /v1.0/engagements/referrals/{id}`. */
  route: string;
  /** The referral id for `/referrals/{id}` routes. */
  referralId?: string;
  ifMatch?: string;
  /** The parsed JSON body, when there was one. */
  body?: unknown;
  /** Response status, once answered. */
  status?: number;
}

export interface Counters {
  /** Counts an API call under its route, e.g. `GET /v1.0/engagements/referrals/{id}`. */
  record(route: string): void;
  /** Keeps the request in the log (bounded; the oldest entries go first). */
  logRequest(entry: RequestLogEntry): void;
  requests(): RequestLogEntry[];
  apiCalls(): Record<string, number>;
  totalApiCalls(): number;
  recordCertificateDownload(): void;
  certificateDownloads(): number;
  reset(): void;
}

const REQUEST_LOG_LIMIT = 10_000;

export function createCounters(): Counters {
  let calls = new Map<string, number>();
  let certificates = 0;
  let log: RequestLogEntry[] = [];
  return {
    record: (route) => void calls.set(route, (calls.get(route) ?? 0) + 1),
    logRequest(entry) {
      log.push(entry);
      if (log.length > REQUEST_LOG_LIMIT) log.splice(0, log.length - REQUEST_LOG_LIMIT);
    },
    requests: () => [...log],
    apiCalls: () => Object.fromEntries(calls),
    totalApiCalls: () => [...calls.values()].reduce((sum, n) => sum + n, 0),
    recordCertificateDownload: () => void certificates++,
    certificateDownloads: () => certificates,
    reset() {
      calls = new Map();
      certificates = 0;
      log = [];
    },
  };
}

export interface RequestHandlerContext {
  baseUrl: () => string;
  store: ReferralStore;
  dispatcher: WebhookDispatcher;
  faults: Faults;
  counters: Counters;
  verifyAccessToken: AccessTokenVerifier;
  /** Expected token audiences; null accepts any audience. */
  referralsAudience: string | null;
  webhooksAudience: string | null;
  partnerTenantId: string;
  defaultPageSize: number;
  maxPageSize: number;
  validationEventsPerMinute: number;
  reset: () => void;
}

const MAX_BODY_BYTES = 1024 * 1024;
const SOURCE = 'PartnerCenterSandbox';

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly data: string[];
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    code: string,
    message: string,
    data: string[] = [],
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data;
    this.headers = headers;
  }
}

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    })
    .end(text);
}

function sendError(res: ServerResponse, error: HttpError): void {
  send(
    res,
    error.status,
    { code: error.code, description: error.message, data: error.data, source: SOURCE },
    error.headers,
  );
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  }
  if (tooLarge)
    throw new HttpError(413, 'PayloadTooLarge', `body: larger than ${MAX_BODY_BYTES} bytes`, ['body']);
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) throw new HttpError(400, 'InvalidInput', 'body: a JSON body is required', ['body']);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new HttpError(400, 'InvalidInput', `body: not valid JSON (${(cause as Error).message})`, ['body']);
  }
}

const fromReferralError = (error: ReferralError): HttpError =>
  new HttpError(error.status, error.code, error.message, error.field ? [error.field] : []);

interface ListState {
  filter?: string;
  orderby?: string;
  select?: string;
  top: number;
  offset: number;
}

const SUPPORTED_LIST_OPTIONS = new Set(['$filter', '$orderby', '$top', '$select', '$skiptoken']);

interface RouteMatch {
  key: string;
  api: 'referrals' | 'webhooks';
  params: string[];
  handle: (req: IncomingMessage, res: ServerResponse, url: URL, params: string[], raw: Buffer) => void;
}

export function createRequestHandler(
  ctx: RequestHandlerContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  const validationTimes: number[] = [];

  const listReferrals = (res: ServerResponse, url: URL): void => {
    let state: ListState;
    const skiptoken = url.searchParams.get('$skiptoken');
    if (skiptoken !== null) {
      try {
        state = JSON.parse(Buffer.from(skiptoken, 'base64url').toString('utf8')) as ListState;
        if (!Number.isInteger(state.top) || !Number.isInteger(state.offset)) throw new Error('incomplete');
      } catch {
        throw new HttpError(400, 'InvalidQuery', '$skiptoken: not a token this service issued', [
          '$skiptoken',
        ]);
      }
    } else {
      for (const key of url.searchParams.keys()) {
        if (key.startsWith('$') && !SUPPORTED_LIST_OPTIONS.has(key))
          throw new HttpError(400, 'InvalidQuery', `${key}: query option is not supported`, [key]);
      }
      const topText = url.searchParams.get('$top');
      let top = ctx.defaultPageSize;
      if (topText !== null) {
        if (!/^\d+$/.test(topText) || Number(topText) < 1)
          throw new HttpError(400, 'InvalidQuery', `$top: must be a positive integer, got '${topText}'`, [
            '$top',
          ]);
        top = Math.min(Number(topText), ctx.maxPageSize);
      }
      state = {
        filter: url.searchParams.get('$filter') ?? undefined,
        orderby: url.searchParams.get('$orderby') ?? undefined,
        select: url.searchParams.get('$select') ?? undefined,
        top,
        offset: 0,
      };
    }
    let predicate: Predicate | undefined;
    let orderBy: OrderBy = { field: 'createdDateTime', descending: false };
    try {
      if (state.filter !== undefined) predicate = parseFilter(state.filter);
      if (state.orderby !== undefined) orderBy = parseOrderBy(state.orderby);
    } catch (error) {
      if (error instanceof ODataQueryError)
        throw new HttpError(400, 'InvalidQuery', error.message, [
          error.message.startsWith('$orderby') ? '$orderby' : '$filter',
        ]);
      throw error;
    }
    const rows = ctx.store.query(predicate, orderBy);
    const page = rows.slice(state.offset, state.offset + state.top);
    const fields = state.select
      ?.split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    const value = fields
      ? page.map((r) => Object.fromEntries(fields.filter((f) => f in r).map((f) => [f, r[f]])))
      : page;
    const body: Record<string, unknown> = {
      '@odata.context': `${ctx.baseUrl()}/v1.0/$metadata#Referrals`,
      '@odata.count': rows.length,
      value,
    };
    if (state.offset + state.top < rows.length) {
      const token = Buffer.from(JSON.stringify({ ...state, offset: state.offset + state.top })).toString(
        'base64url',
      );
      body['@odata.nextLink'] = `${ctx.baseUrl()}/v1.0/engagements/referrals?$skiptoken=${token}`;
    }
    send(res, 200, body);
  };

  const requireReferral = (id: string): Referral => {
    const referral = ctx.store.get(id);
    if (!referral) throw new HttpError(404, 'NotFound', `referral '${id}' was not found`, ['id']);
    return referral;
  };

  const registrationBody = (
    raw: Buffer,
  ): { webhookUrl: string; webhookEvents: string[]; msSignatureHeader: boolean } => {
    const body = parseJson(raw);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new HttpError(400, 'InvalidInput', 'body: must be a JSON object', ['body']);
    // The documented casing is PascalCase, the swagger model camelCase: accept either.
    const fields = new Map(Object.entries(body).map(([k, v]) => [k.toLowerCase(), v]));
    const webhookUrl = fields.get('webhookurl');
    if (
      typeof webhookUrl !== 'string' ||
      !URL.canParse(webhookUrl) ||
      !/^https?:$/.test(new URL(webhookUrl).protocol)
    ) {
      throw new HttpError(400, 'InvalidInput', 'WebhookUrl: must be an absolute http(s) URL', ['WebhookUrl']);
    }
    const events = fields.get('webhookevents');
    if (!Array.isArray(events) || events.length === 0)
      throw new HttpError(400, 'InvalidInput', 'WebhookEvents: must be a non-empty array of event names', [
        'WebhookEvents',
      ]);
    for (const event of events) {
      if (typeof event !== 'string' || !SUPPORTED_EVENTS.includes(event)) {
        throw new HttpError(
          400,
          'InvalidInput',
          `WebhookEvents: '${String(event)}' is not a supported event`,
          ['WebhookEvents'],
        );
      }
    }
    const header = fields.get('signaturetokentomssignatureheader') ?? false;
    if (typeof header !== 'boolean')
      throw new HttpError(400, 'InvalidInput', 'SignatureTokenToMsSignatureHeader: must be a boolean', [
        'SignatureTokenToMsSignatureHeader',
      ]);
    return { webhookUrl, webhookEvents: [...new Set(events as string[])], msSignatureHeader: header };
  };

  const registrationView = (): Record<string, unknown> => {
    const current = ctx.dispatcher.registration();
    if (!current) throw new HttpError(404, 'NotFound', 'No webhook registration exists for this partner.');
    return {
      SubscriberId: current.subscriberId,
      WebhookUrl: current.webhookUrl,
      WebhookEvents: current.webhookEvents,
      SignatureTokenToMsSignatureHeader: current.signatureTokenToMsSignatureHeader,
      LastModifiedTimestamp: current.lastModifiedTimestamp,
    };
  };

  const register = (raw: Buffer, res: ServerResponse): void => {
    const body = registrationBody(raw);
    ctx.dispatcher.register({
      subscriberId: ctx.partnerTenantId,
      webhookUrl: body.webhookUrl,
      webhookEvents: body.webhookEvents,
      signatureTokenToMsSignatureHeader: body.msSignatureHeader,
      lastModifiedTimestamp: new Date().toISOString(),
    });
    send(res, 200, registrationView());
  };

  const validationView = (record: DeliveryRecord): Record<string, unknown> => ({
    correlationId: record.correlationId,
    partnerId: ctx.partnerTenantId,
    status: record.state === 'delivered' ? 'completed' : record.state === 'pending' ? 'pending' : 'failed',
    callbackUrl: record.url,
    results: record.attempts.map((attempt) => ({
      responseCode: attempt.status === null ? '' : statusCodeName(attempt.status),
      responseMessage: attempt.error ?? attempt.responseBody,
      systemError: attempt.status === null,
      dateTimeUtc: attempt.at,
    })),
  });

  const REFERRALS = '/v1.0/engagements/referrals';
  const REGISTRATION = '/webhooks/v1/registration';

  const route = (method: string, path: string): RouteMatch | 'method-not-allowed' | undefined => {
    const lower = path.toLowerCase();
    const idMatch = lower.startsWith(`${REFERRALS}/`) ? path.slice(REFERRALS.length + 1) : undefined;
    const make = (
      key: string,
      api: RouteMatch['api'],
      params: string[],
      handle: RouteMatch['handle'],
    ): RouteMatch => ({ key: `${method} ${key}`, api, params, handle });
    if (lower === REFERRALS) {
      if (method === 'GET')
        return make(REFERRALS, 'referrals', [], (_req, res, url) => listReferrals(res, url));
      if (method === 'POST')
        return make(REFERRALS, 'referrals', [], (_req, res, _url, _params, raw) => {
          const referral = ctx.store.createAsPartner(parseJson(raw));
          send(res, 201, referral, {
            etag: referral.eTag,
            location: `${ctx.baseUrl()}${REFERRALS}/${referral.id}`,
          });
        });
      return 'method-not-allowed';
    }
    if (idMatch !== undefined && idMatch !== '' && !idMatch.includes('/')) {
      const id = decodeURIComponent(idMatch).toLowerCase();
      if (method === 'GET')
        return make(`${REFERRALS}/{id}`, 'referrals', [id], (_req, res) => {
          const referral = requireReferral(id);
          send(res, 200, referral, { etag: referral.eTag });
        });
      if (method === 'PATCH')
        return make(`${REFERRALS}/{id}`, 'referrals', [id], (req, res, _url, _params, raw) => {
          requireReferral(id);
          const ifMatch = req.headers['if-match'];
          const referral = ctx.store.patch(
            id,
            parseJson(raw),
            typeof ifMatch === 'string' ? ifMatch : undefined,
          );
          const prefer = String(req.headers.prefer ?? '').toLowerCase();
          if (/\breturn=representation\b/.test(prefer))
            send(res, 200, referral, { etag: referral.eTag, 'preference-applied': 'return=representation' });
          else send(res, 204, undefined, { etag: referral.eTag });
        });
      return 'method-not-allowed';
    }
    if (lower === `${REGISTRATION}/events`) {
      if (method === 'GET')
        return make(`${REGISTRATION}/events`, 'webhooks', [], (_req, res) =>
          send(res, 200, SUPPORTED_EVENTS),
        );
      return 'method-not-allowed';
    }
    if (lower === REGISTRATION) {
      if (method === 'GET')
        return make(REGISTRATION, 'webhooks', [], (_req, res) => send(res, 200, registrationView()));
      if (method === 'POST')
        return make(REGISTRATION, 'webhooks', [], (_req, res, _url, _params, raw) => {
          if (ctx.dispatcher.registration())
            throw new HttpError(
              409,
              'Conflict',
              'Registration already exists, use the PUT method to update a registration.',
            );
          register(raw, res);
        });
      if (method === 'PUT')
        return make(REGISTRATION, 'webhooks', [], (_req, res, _url, _params, raw) => register(raw, res));
      return 'method-not-allowed';
    }
    if (lower === `${REGISTRATION}/validationevents`) {
      if (method === 'POST')
        return make(`${REGISTRATION}/validationEvents`, 'webhooks', [], (_req, res) => {
          const current = ctx.dispatcher.registration();
          if (!current)
            throw new HttpError(404, 'NotFound', 'No webhook registration exists for this partner.');
          if (!current.webhookEvents.includes('test-created'))
            throw new HttpError(
              400,
              'InvalidInput',
              "WebhookEvents: the registration must include 'test-created' to send a test event",
              ['WebhookEvents'],
            );
          // "A throttle limit of 2 requests per minute is enforced when posting a test-created event" (§1.8).
          const now = Date.now();
          while (validationTimes.length > 0 && validationTimes[0] <= now - 60_000) validationTimes.shift();
          if (validationTimes.length >= ctx.validationEventsPerMinute) {
            const seconds = Math.max(1, Math.ceil((validationTimes[0] + 60_000 - now) / 1000));
            send(
              res,
              429,
              { statusCode: 429, message: `Rate limit is exceeded. Try again in ${seconds} seconds.` },
              { 'retry-after': String(seconds) },
            );
            return;
          }
          validationTimes.push(now);
          const correlationId = randomUUID();
          ctx.dispatcher.publish({
            eventName: 'test-created',
            resourceName: 'test',
            resourceUri: `${ctx.baseUrl()}${REGISTRATION}/validationEvents/${correlationId}`,
            changedAt: new Date().toISOString(),
            correlationId,
          });
          send(res, 200, { correlationId });
        });
      return 'method-not-allowed';
    }
    if (lower.startsWith(`${REGISTRATION}/validationevents/`)) {
      const correlationId = path.slice(`${REGISTRATION}/validationEvents/`.length);
      if (method === 'GET')
        return make(
          `${REGISTRATION}/validationEvents/{correlationId}`,
          'webhooks',
          [correlationId],
          (_req, res) => {
            const record = ctx.dispatcher.byCorrelationId(correlationId);
            if (!record)
              throw new HttpError(404, 'NotFound', `validation event '${correlationId}' was not found`, [
                'correlationId',
              ]);
            send(res, 200, validationView(record));
          },
        );
      return 'method-not-allowed';
    }
    return undefined;
  };

  const authenticate = (req: IncomingMessage, api: RouteMatch['api']): void => {
    const header = req.headers.authorization;
    const challenge = { 'www-authenticate': 'Bearer' };
    if (!header)
      throw new HttpError(
        401,
        'Unauthorized',
        'Authorization: a Bearer token is required',
        ['Authorization'],
        challenge,
      );
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match)
      throw new HttpError(
        401,
        'Unauthorized',
        "Authorization: scheme must be 'Bearer'",
        ['Authorization'],
        challenge,
      );
    const claims = ctx.verifyAccessToken(match[1]);
    if (!claims)
      throw new HttpError(
        401,
        'Unauthorized',
        'Authorization: the access token is invalid or expired',
        ['Authorization'],
        challenge,
      );
    const audience = api === 'referrals' ? ctx.referralsAudience : ctx.webhooksAudience;
    if (audience !== null && claims.audience.replace(/\/+$/, '') !== audience.replace(/\/+$/, '')) {
      throw new HttpError(
        401,
        'Unauthorized',
        `Authorization: the token audience '${claims.audience}' is not '${audience}'`,
        ['Authorization'],
        challenge,
      );
    }
    // Contract §2.1: the referrals API supports App+User (delegated) tokens only.
    if (api === 'referrals' && claims.kind !== 'delegated') {
      throw new HttpError(
        403,
        'Forbidden',
        'Authorization: the referrals API accepts only delegated (App+User) tokens',
        ['Authorization'],
      );
    }
  };

  const admin = async (req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): Promise<void> => {
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean).slice(1);
    const [resource, id] = parts;
    const deliveries = ctx.dispatcher.records();
    if (resource === 'faults' && parts.length === 1) {
      if (method === 'GET') return send(res, 200, ctx.faults.settings());
      if (method === 'PUT' || method === 'PATCH' || method === 'POST') {
        try {
          return send(res, 200, ctx.faults.update(parseJson(raw) as Record<string, number>));
        } catch (error) {
          if (error instanceof RangeError)
            throw new HttpError(400, 'InvalidInput', error.message, [error.message.split(':')[0]]);
          throw error;
        }
      }
    }
    if (resource === 'counters' && parts.length === 1 && method === 'GET') {
      const count = (state: DeliveryRecord['state']): number =>
        deliveries.filter((d) => d.state === state).length;
      return send(res, 200, {
        apiCalls: ctx.counters.apiCalls(),
        totalApiCalls: ctx.counters.totalApiCalls(),
        certificateDownloads: ctx.counters.certificateDownloads(),
        deliveries: {
          pending: count('pending'),
          delivered: count('delivered'),
          dropped: count('dropped'),
          lost: count('lost'),
          attempts: deliveries.reduce((sum, d) => sum + d.attempts.length, 0),
        },
      });
    }
    if (resource === 'deliveries' && parts.length === 1 && method === 'GET')
      return send(res, 200, deliveries);
    if (resource === 'referrals') {
      if (parts.length === 1 && method === 'GET')
        return send(res, 200, ctx.store.query(undefined, { field: 'createdDateTime', descending: false }));
      if (parts.length === 1 && method === 'POST')
        return send(res, 201, ctx.store.createAsMicrosoft(parseJson(raw)));
      if (parts.length === 2 && method === 'GET') return send(res, 200, requireReferral(id));
      if (parts.length === 2 && method === 'PATCH') {
        return send(
          res,
          200,
          ctx.store.updateAsMicrosoft(id, parseJson(raw), {
            force: url.searchParams.get('force') === 'true',
          }),
        );
      }
    }
    if (resource === 'signing-identity' && parts.length === 1) {
      if (method === 'GET')
        return send(res, 200, { identity: ctx.dispatcher.signingIdentity(), available: SIGNING_IDENTITIES });
      if (method === 'PUT') {
        const body = parseJson(raw) as { identity?: unknown };
        if (
          typeof body.identity !== 'string' ||
          !(SIGNING_IDENTITIES as readonly string[]).includes(body.identity)
        ) {
          throw new HttpError(
            400,
            'InvalidInput',
            `identity: must be one of ${SIGNING_IDENTITIES.join(', ')}`,
            ['identity'],
          );
        }
        ctx.dispatcher.setSigningIdentity(body.identity as SigningIdentityName);
        return send(res, 200, { identity: body.identity });
      }
    }
    if (resource === 'reset' && parts.length === 1 && method === 'POST') {
      ctx.reset();
      return send(res, 204);
    }
    throw new HttpError(404, 'NotFound', `${method} ${url.pathname}: no such admin endpoint`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', ctx.baseUrl());
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    // The body is read up front so every answer, faults included, leaves the connection reusable.
    const raw = await readBody(req);
    if (path.toLowerCase().startsWith('/_sandbox/')) return admin(req, res, url, raw);
    const match = route(method, path);
    if (match === undefined) throw new HttpError(404, 'NotFound', `${path}: no such resource`);
    if (match === 'method-not-allowed')
      throw new HttpError(405, 'MethodNotAllowed', `${method} is not allowed on ${path}`);
    ctx.counters.record(match.key);
    const entry: RequestLogEntry = { at: Date.now(), route: match.key };
    if (match.params[0] !== undefined && match.api === 'referrals') entry.referralId = match.params[0];
    const ifMatch = req.headers['if-match'];
    if (typeof ifMatch === 'string') entry.ifMatch = ifMatch;
    if (raw.length > 0) {
      try {
        entry.body = JSON.parse(raw.toString('utf8'));
      } catch {
        entry.body = raw.toString('utf8');
      }
    }
    res.once('finish', () => {
      entry.status = res.statusCode;
    });
    ctx.counters.logRequest(entry);
    const { latencyMs, retryAfterSeconds } = ctx.faults.settings();
    if (latencyMs > 0) await delay(latencyMs);
    const fault = ctx.faults.takeApiFault();
    if (fault === 'throttle') {
      // The documented throttling answer (contract §1.8), not the usual error body.
      return send(
        res,
        429,
        { statusCode: 429, message: `Rate limit is exceeded. Try again in ${retryAfterSeconds} seconds.` },
        { 'retry-after': String(retryAfterSeconds) },
      );
    }
    if (fault === 'unavailable')
      throw new HttpError(
        503,
        'ServiceUnavailable',
        'The service is temporarily unavailable. Try again later.',
      );
    authenticate(req, match.api);
    match.handle(req, res, url, match.params, raw);
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) sendError(res, error);
      else if (error instanceof ReferralError) sendError(res, fromReferralError(error));
      else
        sendError(
          res,
          new HttpError(500, 'InternalServerError', error instanceof Error ? error.message : String(error)),
        );
    });
  };
}
