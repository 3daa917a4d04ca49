import { randomUUID } from 'node:crypto';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { buildBatch, parseBatchResponse } from './batchFormat.ts';
import type { BatchOperation, BatchPartResult } from './batchFormat.ts';

/**
 * The relay's Dataverse Web API client, one per organization.
 *
 * A thin client on fetch rather than dynamics-web-api: the relay needs, on success as on failure,
 * the response headers dynamics-web-api does not return from its convenience calls (ETag,
 * OData-EntityId, Retry-After, x-ms-ratelimit-burst-remaining-xrm-requests), and one place where
 * every request passes so a 429 can pause all calls to the org, a concurrency cap can hold them and
 * each can be counted. dynamics-web-api stays the independent client of the contract tests.
 *
 * Limits (contract §2): 6,000 requests, 20 minutes of execution time and 52 concurrent requests
 * per user per 5-minute sliding window; beyond them Dataverse answers 429 with Retry-After, and
 * sending more lengthens the penalty — so after a 429 nothing is sent to the org until it passes.
 */

export type DataverseErrorCode =
  | 'DV_HTTP_ERROR'
  | 'DV_THROTTLED'
  | 'DV_CONFLICT'
  | 'DV_NOT_FOUND'
  | 'DV_UNAVAILABLE'
  | 'DV_AUTH_FAILED'
  | 'DV_BATCH_FAILED';

export class DataverseError extends Error {
  readonly code: DataverseErrorCode;
  readonly status: number | undefined;
  /** Dataverse's own code, e.g. 0x80040217. */
  readonly serviceCode: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(
    code: DataverseErrorCode,
    message: string,
    options: {
      status?: number;
      serviceCode?: string;
      retryable?: boolean;
      retryAfterMs?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DataverseError';
    this.code = code;
    this.status = options.status;
    this.serviceCode = options.serviceCode;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export interface DataverseClientOptions {
  /** https://<org>.crm.dynamics.com (the Web API is `${orgUrl}/api/data/v9.2/`). */
  orgUrl: string;
  /** The token resource when it differs from orgUrl; the scope is `${resource}/.default`. */
  resource?: string;
  tenantAuthority: string;
  clientId: string;
  clientSecret: string;
  /** MSAL metadata so no instance discovery call is made (sandbox and sovereign clouds). */
  authorityMetadata?: string;
  cloudDiscoveryMetadata?: string;
  knownAuthorities?: string[];
  /** Requests in flight to this org at once (default 8; the service allows 52 per user). */
  maxConcurrent?: number;
  /** Requests allowed per window before the client waits by itself (default 6000 per 300 000 ms). */
  requestBudget?: number;
  budgetWindowMs?: number;
  /** Attempts for one call through 429s before it fails (default 4). */
  maxThrottleRetries?: number;
  /** Used when a 429 carries no Retry-After (default 5 s). */
  defaultRetryAfterMs?: number;
  timeoutMs?: number;
  /** Injected for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  getToken?: () => Promise<string>;
}

export interface DataverseResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Prefer header values, e.g. ['return=representation']. */
  prefer?: string[];
  /** Statuses returned instead of thrown (e.g. 304, 404). */
  accept?: number[];
}

export interface DataverseClientStats {
  requestsInWindow: number;
  budget: number;
  throttled: number;
  pausedUntil: number | undefined;
  inFlight: number;
  /** The last x-ms-ratelimit-burst-remaining-xrm-requests the service sent. */
  serviceRemaining: number | undefined;
}

export interface DataverseRow {
  '@odata.etag'?: string;
  [column: string]: unknown;
}

const API_PATH = '/api/data/v9.2/';

export function createDataverseClient(options: DataverseClientOptions) {
  const orgUrl = options.orgUrl.replace(/\/+$/, '');
  const serviceRoot = `${orgUrl}${API_PATH}`;
  const resource = (options.resource ?? orgUrl).replace(/\/+$/, '');
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxConcurrent = options.maxConcurrent ?? 8;
  const budget = options.requestBudget ?? 6000;
  const windowMs = options.budgetWindowMs ?? 300_000;
  const maxThrottleRetries = options.maxThrottleRetries ?? 4;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const sent: number[] = [];
  let pausedUntil: number | undefined;
  let throttled = 0;
  let inFlight = 0;
  let serviceRemaining: number | undefined;
  const waiting: Array<() => void> = [];

  const msal = options.getToken
    ? undefined
    : new ConfidentialClientApplication({
        auth: {
          clientId: options.clientId,
          clientSecret: options.clientSecret,
          authority: options.tenantAuthority,
          ...(options.authorityMetadata === undefined
            ? {}
            : { authorityMetadata: options.authorityMetadata }),
          ...(options.cloudDiscoveryMetadata === undefined
            ? {}
            : { cloudDiscoveryMetadata: options.cloudDiscoveryMetadata }),
          ...(options.knownAuthorities === undefined ? {} : { knownAuthorities: options.knownAuthorities }),
        },
      });
  async function token(): Promise<string> {
    if (options.getToken) return options.getToken();
    try {
      // MSAL caches the app token and renews it before expiry.
      const result = await msal!.acquireTokenByClientCredential({ scopes: [`${resource}/.default`] });
      if (!result?.accessToken) throw new Error('MSAL returned no access token');
      return result.accessToken;
    } catch (error) {
      throw new DataverseError('DV_AUTH_FAILED', `Could not get a Dataverse token for ${resource}/.default`, {
        cause: error,
      });
    }
  }

  async function acquireSlot(): Promise<void> {
    while (inFlight >= maxConcurrent) await new Promise<void>((resolve) => waiting.push(resolve));
    inFlight += 1;
  }
  function releaseSlot(): void {
    inFlight -= 1;
    waiting.shift()?.();
  }

  /** Waits out a 429 pause of the org and the client's own budget, then records the request. */
  async function admit(): Promise<void> {
    for (;;) {
      const t = now();
      if (pausedUntil !== undefined && pausedUntil > t) {
        await sleep(pausedUntil - t);
        continue;
      }
      while (sent.length > 0 && sent[0] <= t - windowMs) sent.shift();
      if (sent.length >= budget) {
        await sleep(sent[0] + windowMs - t);
        continue;
      }
      sent.push(t);
      return;
    }
  }

  function retryAfterMs(headers: Headers): number {
    const value = headers.get('retry-after');
    if (value && /^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
    const date = value ? Date.parse(value) : NaN;
    if (!Number.isNaN(date)) return Math.max(0, date - now());
    return options.defaultRetryAfterMs ?? 5000;
  }

  async function errorFrom(response: Response, method: string, path: string): Promise<DataverseError> {
    const text = await response.text().catch(() => '');
    let serviceCode: string | undefined;
    let message = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
      serviceCode = parsed.error?.code;
      message = parsed.error?.message ?? message;
    } catch {
      // not JSON: keep the text
    }
    const where = `${method} ${path.split('?')[0]}`;
    const status = response.status;
    const detail = `Dataverse answered ${status} to ${where}${serviceCode ? ` (${serviceCode})` : ''}: ${message}`;
    if (status === 412) return new DataverseError('DV_CONFLICT', detail, { status, serviceCode });
    if (status === 404) return new DataverseError('DV_NOT_FOUND', detail, { status, serviceCode });
    if (status === 401 || status === 403)
      return new DataverseError('DV_AUTH_FAILED', detail, { status, serviceCode });
    if (status === 429)
      return new DataverseError('DV_THROTTLED', detail, {
        status,
        serviceCode,
        retryable: true,
        retryAfterMs: retryAfterMs(response.headers),
      });
    if (status >= 500)
      return new DataverseError('DV_UNAVAILABLE', detail, { status, serviceCode, retryable: true });
    return new DataverseError('DV_HTTP_ERROR', detail, { status, serviceCode });
  }

  async function send(
    method: string,
    path: string,
    init: { body?: string; headers: Record<string, string> },
    accept: number[],
  ): Promise<Response> {
    for (let attempt = 1; ; attempt += 1) {
      await acquireSlot();
      let response: Response;
      try {
        await admit();
        const bearer = await token();
        response = await fetch(
          path.startsWith('https://') || path.startsWith('http://') ? path : `${serviceRoot}${path}`,
          {
            method,
            headers: {
              Authorization: `Bearer ${bearer}`,
              Accept: 'application/json',
              'OData-Version': '4.0',
              'OData-MaxVersion': '4.0',
              ...init.headers,
            },
            body: init.body,
            signal: AbortSignal.timeout(timeoutMs),
          },
        );
      } catch (error) {
        if (error instanceof DataverseError) throw error;
        throw new DataverseError(
          'DV_UNAVAILABLE',
          `${method} ${path.split('?')[0]} did not complete: ${(error as Error).message}`,
          { retryable: true, cause: error },
        );
      } finally {
        releaseSlot();
      }
      const remaining = response.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests');
      if (remaining !== null && /^\d+$/.test(remaining)) serviceRemaining = Number(remaining);
      if (response.status === 429) {
        throttled += 1;
        const wait = retryAfterMs(response.headers);
        // Every call to this org waits, not only this one: more requests would lengthen the penalty.
        pausedUntil = Math.max(pausedUntil ?? 0, now() + wait);
        if (attempt < maxThrottleRetries) {
          await response.arrayBuffer().catch(() => undefined);
          continue;
        }
      }
      if (response.ok || accept.includes(response.status)) return response;
      throw await errorFrom(response, method, path);
    }
  }

  async function request<T = unknown>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<DataverseResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.prefer && opts.prefer.length > 0) headers.Prefer = opts.prefer.join(',');
    const response = await send(
      method,
      path,
      { body: opts.body === undefined ? undefined : JSON.stringify(opts.body), headers },
      opts.accept ?? [],
    );
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: (text === '' ? undefined : JSON.parse(text)) as T,
    };
  }

  const idFromEntityId = (headers: Headers): string | undefined =>
    /\(([0-9a-f-]{36})\)\s*$/i.exec(headers.get('odata-entityid') ?? '')?.[1];

  /** `name='value'` segments for an alternate key, quotes doubled. */
  function keySegment(values: Record<string, string | number>): string {
    return Object.entries(values)
      .map(
        ([name, value]) => `${name}=${typeof value === 'number' ? value : `'${value.replace(/'/g, "''")}'`}`,
      )
      .join(',');
  }

  return {
    serviceRoot,
    request,
    async whoAmI(): Promise<{ UserId: string; BusinessUnitId: string; OrganizationId: string }> {
      return (
        await request<{ UserId: string; BusinessUnitId: string; OrganizationId: string }>('GET', 'WhoAmI')
      ).body;
    },
    async create(
      entitySet: string,
      data: Record<string, unknown>,
      headers: Record<string, string> = {},
    ): Promise<string> {
      const response = await request('POST', entitySet, { body: data, headers });
      const id = idFromEntityId(response.headers);
      if (!id)
        throw new DataverseError('DV_HTTP_ERROR', `POST ${entitySet} answered without an OData-EntityId`);
      return id;
    },
    async retrieve(entitySet: string, key: string, select?: string[]): Promise<DataverseRow | undefined> {
      const query = select ? `?$select=${select.join(',')}` : '';
      const response = await request<DataverseRow>('GET', `${entitySet}(${key})${query}`, { accept: [404] });
      return response.status === 404 ? undefined : response.body;
    },
    /** PATCH with If-Match: the row's ETag (412 → DV_CONFLICT), or `*` to update only. */
    async update(
      entitySet: string,
      key: string,
      data: Record<string, unknown>,
      ifMatch = '*',
    ): Promise<void> {
      await request('PATCH', `${entitySet}(${key})`, { body: data, headers: { 'If-Match': ifMatch } });
    },
    /**
     * Upsert by alternate key; returns the row as stored (Prefer: return=representation), whose
     * `@odata.etag` is the version a later If-Match names. `ifMatch` updates only that version (412 →
     * DV_CONFLICT; `*` = update only, 404 → DV_NOT_FOUND); `createOnly` sends If-None-Match: * (412
     * when the row exists). `select` trims the returned row.
     */
    async upsertByKey(
      entitySet: string,
      key: Record<string, string | number>,
      data: Record<string, unknown>,
      conditions: { ifMatch?: string; createOnly?: boolean; select?: string[] } = {},
    ): Promise<DataverseRow> {
      const headers: Record<string, string> = {};
      if (conditions.ifMatch) headers['If-Match'] = conditions.ifMatch;
      if (conditions.createOnly) headers['If-None-Match'] = '*';
      const query = conditions.select ? `?$select=${conditions.select.join(',')}` : '';
      const response = await request<DataverseRow>('PATCH', `${entitySet}(${keySegment(key)})${query}`, {
        body: data,
        headers,
        prefer: ['return=representation'],
      });
      return response.body;
    },
    keySegment,
    async remove(entitySet: string, key: string): Promise<boolean> {
      const response = await request('DELETE', `${entitySet}(${key})`, { accept: [404] });
      return response.status !== 404;
    },
    /** Every row of a query, following @odata.nextLink. */
    async queryAll(entitySet: string, query: string, pageSize = 5000): Promise<DataverseRow[]> {
      const rows: DataverseRow[] = [];
      let next: string | undefined = `${entitySet}?${query}`;
      while (next) {
        const page: DataverseResponse<{ value: DataverseRow[]; '@odata.nextLink'?: string }> = await request(
          'GET',
          next,
          { prefer: [`odata.maxpagesize=${pageSize}`] },
        );
        rows.push(...page.body.value);
        next = page.body['@odata.nextLink'];
      }
      return rows;
    },
    /** A change-tracking read: the first call without a link is the baseline. */
    async changes(
      entitySetOrDeltaLink: string,
      select: string[],
    ): Promise<{ rows: DataverseRow[]; deleted: string[]; deltaLink: string }> {
      const rows: DataverseRow[] = [];
      const deleted: string[] = [];
      let next: string | undefined = /^https?:\/\//.test(entitySetOrDeltaLink)
        ? entitySetOrDeltaLink
        : `${entitySetOrDeltaLink}?$select=${select.join(',')}`;
      for (;;) {
        const page: DataverseResponse<{
          value: DataverseRow[];
          '@odata.nextLink'?: string;
          '@odata.deltaLink'?: string;
        }> = await request('GET', next!, {
          prefer: ['odata.track-changes', 'odata.maxpagesize=5000'],
        });
        for (const item of page.body.value) {
          const context = typeof item['@odata.context'] === 'string' ? item['@odata.context'] : '';
          // Deleted rows come as OData 4.0 `$deletedEntity` entries, or 4.01 `@removed` ones.
          if (context.endsWith('/$deletedEntity') && typeof item.id === 'string') deleted.push(item.id);
          else if (item['@removed'] !== undefined)
            deleted.push(String(item.id ?? /\(([^)]+)\)$/.exec(String(item['@id']))?.[1]));
          else rows.push(item);
        }
        if (page.body['@odata.deltaLink']) return { rows, deleted, deltaLink: page.body['@odata.deltaLink'] };
        next = page.body['@odata.nextLink'];
        if (!next)
          throw new DataverseError(
            'DV_HTTP_ERROR',
            'A change-tracking page had neither @odata.nextLink nor @odata.deltaLink',
          );
      }
    },
    async action(name: string, body: Record<string, unknown>): Promise<unknown> {
      return (await request('POST', name, { body })).body;
    },
    /**
     * One `$batch` (one request against the limits). Changesets are atomic; a failed changeset
     * answers with its one failing part, reported here as a DV_BATCH_FAILED error with that status.
     */
    async batch(
      groups: Array<{ changeset: boolean; operations: BatchOperation[] }>,
    ): Promise<BatchPartResult[]> {
      const { boundary, body } = buildBatch(groups, serviceRoot, randomUUID);
      const response = await send(
        'POST',
        '$batch',
        { body, headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}` } },
        [],
      );
      return parseBatchResponse(await response.text(), response.headers.get('content-type') ?? '');
    },
    stats(): DataverseClientStats {
      const t = now();
      return {
        requestsInWindow: sent.filter((s) => s > t - windowMs).length,
        budget,
        throttled,
        pausedUntil: pausedUntil !== undefined && pausedUntil > t ? pausedUntil : undefined,
        inFlight,
        serviceRemaining,
      };
    },
  };
}

export type DataverseClient = ReturnType<typeof createDataverseClient>;
