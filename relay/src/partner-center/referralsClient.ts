import { randomUUID } from 'node:crypto';
import type { BreakerVerdict, CircuitBreaker } from '../breaker.ts';
import { RelayError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Referral, ReferralPatchOperation } from '../sync/referral.ts';

/**
 * The Partner Center Referrals API (contract §1): GET, list with OData paging, POST, JSON Patch
 * with If-Match. It never retries: every failure becomes a RelayError whose `retryable` and
 * `retryAfterMs` tell the job queue what to do.
 */

export interface ReferralsClientOptions {
  /** e.g. https://api.partner.microsoft.com — the client adds /v1.0/engagements/referrals. */
  baseUrl: string;
  /** A delegated (App+User) bearer token; the Referrals API accepts nothing else (contract §2.1). */
  getToken: () => Promise<string>;
  logger: Logger;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Every referrals call goes through it, so a 429 storm stops them all until Retry-After (breaker.ts). */
  breaker?: Pick<CircuitBreaker, 'run'>;
}

export interface ListReferralsQuery {
  /** OData $filter, e.g. `updatedDateTime ge 2024-01-01T00:00:00Z`. */
  filter?: string;
  /** OData $orderby; only createdDateTime and updatedDateTime are documented. */
  orderBy?: string;
  /** Page size ($top); the maximum is undocumented. */
  top?: number;
}

export interface CreateReferralOptions {
  /**
   * MS-RequestId; pass a stable id (derived from the Opportunity) so that a create retried by the
   * job queue can be recognised as the same request. Random when omitted.
   */
  requestId?: string;
}

export interface ReferralsClient {
  get(id: string): Promise<Referral>;
  list(query?: ListReferralsQuery): AsyncIterable<Referral>;
  create(body: Referral, options?: CreateReferralOptions): Promise<Referral>;
  patch(id: string, operations: ReferralPatchOperation[], eTag: string): Promise<Referral>;
}

const REFERRALS_PATH = '/v1.0/engagements/referrals';
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_LOGGED_BODY = 2_000;

/** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * The error body's shape is unconfirmed for this host (contract §1.8): the other Partner Center host
 * uses { code, description }, throttling uses { statusCode, message }, gateways send OData
 * { error: { code, message } } or plain text. Take the first message-like field, else the text.
 */
export function errorMessageOf(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return 'no error body';
  try {
    const body = JSON.parse(trimmed) as unknown;
    if (typeof body === 'string') return body;
    if (body && typeof body === 'object') {
      const record = body as Record<string, unknown>;
      const nested =
        record.error && typeof record.error === 'object'
          ? (record.error as Record<string, unknown>)
          : undefined;
      const candidates = [
        nested?.message,
        record.message,
        record.description,
        record.errorMessage,
        record.error_description,
        record.Message,
        record.title,
        record.error,
      ];
      for (const candidate of candidates) {
        if (typeof candidate === 'string' && candidate.trim() !== '') return candidate.trim().slice(0, 500);
      }
    }
  } catch {
    // Not JSON: fall back to the text itself.
  }
  return trimmed.slice(0, 500);
}

export function statusError(
  status: number,
  message: string,
  retryAfterMs: number | undefined,
  details: Record<string, unknown>,
): RelayError {
  const base = { status, details, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  let code: ErrorCode;
  let retryable = false;
  if (status === 429) {
    code = 'PC_THROTTLED';
    retryable = true;
  } else if (status >= 500 || status === 408) {
    code = 'PC_UNAVAILABLE';
    retryable = true;
  } else if (status === 412) {
    code = 'PC_CONFLICT';
  } else if (status === 404) {
    code = 'PC_NOT_FOUND';
  } else if (status === 400) {
    code = 'PC_VALIDATION';
  } else if (status === 401 || status === 403) {
    code = 'AUTH_FAILED';
  } else {
    code = 'PC_HTTP_ERROR';
  }
  return new RelayError(code, message, { ...base, retryable });
}

/**
 * The breaker's verdict on a Partner Center failure: a 429 throttles the whole tenant, so every
 * call waits for the Retry-After it names (or the breaker's probe delay when it names none).
 */
export function throttleVerdict(error: unknown): BreakerVerdict {
  if (!(error instanceof RelayError) || error.code !== 'PC_THROTTLED') return null;
  return {
    reason: `HTTP 429${error.retryAfterMs === undefined ? '' : ` (Retry-After ${Math.ceil(error.retryAfterMs / 1000)} s)`}`,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  };
}

export interface PartnerCenterRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  requestId?: string;
  /** Short description for messages, e.g. "GET referral 123". */
  what: string;
}

export interface PartnerCenterResponse {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * One HTTP exchange with a Partner Center host: auth and tracing headers, timeout, and the status
 * → RelayError mapping shared by the referrals and webhook registration clients. `accept` lists
 * the non-2xx statuses the caller handles itself (the webhook API's 409).
 */
export function createPartnerCenterTransport(options: {
  getToken: () => Promise<string>;
  logger: Logger;
  timeoutMs?: number;
  fetch?: typeof fetch;
}): (request: PartnerCenterRequest, accept?: number[]) => Promise<PartnerCenterResponse> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return async (request, accept = []) => {
    const token = await options.getToken();
    const requestId = request.requestId ?? randomUUID();
    const correlationId = randomUUID();
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      'ms-requestid': requestId,
      'ms-correlationid': correlationId,
      ...request.headers,
    };
    if (request.body !== undefined) headers['content-type'] ??= 'application/json';
    const started = Date.now();
    const ids = { method: request.method, path: new URL(request.url).pathname, requestId, correlationId };
    let response: Response;
    let text: string;
    try {
      response = await doFetch(request.url, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      const reason = timedOut
        ? `timed out after ${timeoutMs} ms`
        : `failed: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`;
      options.logger.warn(
        { ...ids, durationMs: Date.now() - started, timedOut },
        'partner center request failed',
      );
      throw new RelayError('PC_UNAVAILABLE', `${request.what} ${reason}`, {
        cause: error,
        retryable: true,
        details: { requestId, correlationId },
      });
    }
    const durationMs = Date.now() - started;
    if (response.ok || accept.includes(response.status)) {
      options.logger.debug({ ...ids, status: response.status, durationMs }, 'partner center request');
      return { status: response.status, headers: response.headers, text };
    }
    const message = errorMessageOf(text);
    options.logger.warn(
      { ...ids, status: response.status, durationMs, body: text.slice(0, MAX_LOGGED_BODY) },
      'partner center request rejected',
    );
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    return Promise.reject(
      statusError(
        response.status,
        `${request.what} failed with HTTP ${response.status}: ${message}`,
        retryAfterMs,
        { requestId, correlationId },
      ),
    );
  };
}

export function parseJson<T>(response: PartnerCenterResponse, what: string): T {
  try {
    return JSON.parse(response.text) as T;
  } catch (error) {
    // A truncated or non-JSON success body: the next attempt may well get a whole one.
    throw new RelayError(
      'PC_HTTP_ERROR',
      `${what} returned HTTP ${response.status} with a body that is not JSON`,
      { cause: error, retryable: true, status: response.status },
    );
  }
}

/**
 * `field eq '<value>'` with the value as an OData string literal: quoted, every quote doubled
 * (OData ABNF, SQUOTE-in-string), so a value holding a quote cannot end the literal and add
 * conditions of its own.
 */
export function odataEquals(field: string, value: string): string {
  return `${field} eq '${value.replace(/'/g, "''")}'`;
}

export function createReferralsClient(options: ReferralsClientOptions): ReferralsClient {
  const logger = options.logger.child({ module: 'referralsClient' });
  const base = new URL(options.baseUrl);
  const collectionUrl = new URL(`${base.pathname.replace(/\/+$/, '')}${REFERRALS_PATH}`, base).toString();
  const transport = createPartnerCenterTransport({ ...options, logger });
  const send = (request: PartnerCenterRequest): Promise<PartnerCenterResponse> =>
    options.breaker ? options.breaker.run(() => transport(request)) : transport(request);
  const itemUrl = (id: string) => `${collectionUrl}/${encodeURIComponent(id)}`;

  function asReferral(response: PartnerCenterResponse, what: string): Referral {
    const referral = parseJson<Referral>(response, what);
    if (!referral || typeof referral !== 'object' || Array.isArray(referral)) {
      throw new RelayError('PC_HTTP_ERROR', `${what} returned a body that is not a referral`, {
        status: response.status,
        retryable: true,
      });
    }
    // Some hosts carry the version only in the ETag header.
    const headerETag = response.headers.get('etag');
    if (referral.eTag === undefined && headerETag !== null) referral.eTag = headerETag;
    return referral;
  }

  /**
   * `@odata.nextLink` is followed only on the configured origin: the bearer token goes wherever the
   * link points. The docs' example shows an `http://` link on the same host (contract §1.3); that is
   * upgraded to https rather than sending the token in clear text.
   */
  function nextPageUrl(link: string): string {
    let next: URL;
    try {
      next = new URL(link, base);
    } catch (error) {
      throw new RelayError('PC_HTTP_ERROR', `Partner Center returned an unparsable @odata.nextLink`, {
        cause: error,
      });
    }
    if (
      next.protocol === 'http:' &&
      base.protocol === 'https:' &&
      next.hostname === base.hostname &&
      (next.port === '' || next.port === '80')
    ) {
      next.protocol = 'https:';
      next.port = base.port;
    }
    if (next.origin !== base.origin || next.username !== '' || next.password !== '') {
      throw new RelayError(
        'PC_HTTP_ERROR',
        `Refusing to follow @odata.nextLink to ${next.origin}: it is not the configured Partner Center origin ${base.origin}`,
      );
    }
    return next.toString();
  }

  return {
    async get(id) {
      const what = `GET referral ${id}`;
      return asReferral(await send({ method: 'GET', url: itemUrl(id), what }), what);
    },

    async *list(query = {}) {
      // Built by hand: URLSearchParams writes spaces as "+", which OData servers need not decode.
      const parameters: string[] = [];
      if (query.filter !== undefined) parameters.push(`$filter=${encodeURIComponent(query.filter)}`);
      if (query.orderBy !== undefined) parameters.push(`$orderby=${encodeURIComponent(query.orderBy)}`);
      if (query.top !== undefined) parameters.push(`$top=${query.top}`);
      let url: string | undefined =
        parameters.length > 0 ? `${collectionUrl}?${parameters.join('&')}` : collectionUrl;
      const seen = new Set<string>();
      let page = 0;
      while (url !== undefined) {
        // A server repeating a link would page forever.
        if (seen.has(url))
          throw new RelayError(
            'PC_HTTP_ERROR',
            'Partner Center returned an @odata.nextLink it had already returned',
          );
        seen.add(url);
        page += 1;
        const what = `list referrals (page ${page})`;
        const response: PartnerCenterResponse = await send({ method: 'GET', url, what });
        const body = parseJson<{ value?: unknown; '@odata.nextLink'?: unknown }>(response, what);
        if (!body || !Array.isArray(body.value)) {
          throw new RelayError('PC_HTTP_ERROR', `${what} returned no "value" array`, { retryable: true });
        }
        for (const referral of body.value as Referral[]) yield referral;
        const link: unknown = body['@odata.nextLink'];
        url = typeof link === 'string' && link !== '' ? nextPageUrl(link) : undefined;
      }
    },

    async create(body, createOptions = {}) {
      const what = 'POST referral';
      return asReferral(
        await send({
          method: 'POST',
          url: collectionUrl,
          body,
          what,
          ...(createOptions.requestId ? { requestId: createOptions.requestId } : {}),
        }),
        what,
      );
    },

    async patch(id, operations, eTag) {
      const what = `PATCH referral ${id}`;
      const response = await send({
        method: 'PATCH',
        url: itemUrl(id),
        body: operations,
        // The eTag is a quoted string and goes back verbatim, quotes included (contract §1.5).
        headers: { 'if-match': eTag, prefer: 'return=representation', 'content-type': 'application/json' },
        what,
      });
      if (response.status === 204 || response.text.trim() === '') {
        // The host ignored Prefer: read the result rather than guess it.
        logger.debug({ referralId: id }, 'patch returned no representation; reading the referral');
        const readWhat = `GET referral ${id} after PATCH`;
        return asReferral(await send({ method: 'GET', url: itemUrl(id), what: readWhat }), readWhat);
      }
      return asReferral(response, what);
    },
  };
}
