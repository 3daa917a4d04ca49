import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../src/logger.ts';
import { sandboxTls } from '../partner-center/certificates.ts';
import { DataverseApiError, ERROR_CODES } from './errors.ts';
import { createOrganization } from './organization.ts';
import type { Organization, Row, RowEvent } from './organization.ts';
import type { KeyDefinition, TableDefinition } from './tables.ts';
import { deliver, wcfDate } from './webhookDelivery.ts';
import type { DeliveryAttempt, DeliveryRequest } from './webhookDelivery.ts';
import { handleAdmin } from './adminRoutes.ts';
import type { AdminTarget } from './adminRoutes.ts';
import { createWebApi, errorResponse } from './webApi.ts';
import type { ApiResponse } from './webApi.ts';

/**
 * The Dataverse sandbox: a contract simulator of one Dynamics 365 Sales organization's Web API
 * (OData v4 at /api/data/v9.2/), its webhook steps and its service protection limits (contract
 * ../shared/contracts/dynamics-365.md). Bearer tokens come from the sandbox Entra authority
 * (client credentials, scope `<org url>/.default`); each token subject is an application user.
 *
 * Knobs the real service does not have live in `faults` (429 with Retry-After, 503, slow answers,
 * injected latency) and in the options (key index delay, page size, webhook body limit).
 */

export interface DataverseSandboxOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Serve over HTTPS with the sandbox CA's certificate; then the org URL is the sandbox URL. */
  https?: boolean;
  /** Checks a bearer token; the sandbox Entra authority's `verifyAccessToken`. */
  verifyAccessToken(token: string): { subject: string; audience: string; kind: string } | null;
  /** The resource tokens must be issued for (`aud`); default the sandbox URL with `https`, else this. */
  resource?: string;
  /** Sent as x-ms-dynamics-organization; default the host of `resource`. */
  organizationName?: string;
  /**
   * How long an alternate-key index stays Pending / InProgress before it is Active (default 200 ms);
   * `null` holds every index Pending until `finishKeyIndexes()` is called.
   */
  keyIndexDelayMs?: number | null;
  /** Server-side page size limit and default (Dataverse: 5000). */
  maxPageSize?: number;
  /** Service protection: requests per user per window (6000 per 300 s) and concurrent requests (52). */
  requestLimit?: number;
  requestWindowMs?: number;
  concurrentLimit?: number;
  /** Retention of change-tracking data (ExpireChangeTrackingInDays, default 7 days — UNCONFIRMED default). */
  changeTrackingRetentionMs?: number;
  /** The clock delta-token expiry is judged by (tests move it instead of waiting days). */
  now?: () => number;
  /** '4.0' (Dataverse: `$deletedEntity` entries) or '4.01' (`@removed`). */
  deletedEntityFormat?: '4.0' | '4.01';
  /** Webhook bodies above this are stripped (256 KB). */
  webhookBodyLimitBytes?: number;
  /** Dataverse waits 60 s for a webhook receiver. */
  webhookTimeoutMs?: number;
  /** An offset such as '-0700' appended inside `/Date(…)/` timestamps; none by default. */
  wcfDateOffset?: string;
  /** Dataverse accepts webhook URLs on ports 80/443 only; the sandbox does the same when true (default false). */
  enforceWebhookPorts?: boolean;
  logger?: Logger;
}

export interface DataverseFaults {
  /** The next `count` API requests answer 429 with this Retry-After (seconds). */
  throttle(count: number, retryAfterSeconds: number): void;
  /** The next `count` API requests answer 503. */
  unavailable(count: number): void;
  /** The next `count` API requests wait `ms` before being processed (client timeouts). */
  slow(count: number, ms: number): void;
  /** Latency added to every API request (benchmarks). */
  latencyMs: number;
  /** Webhook bodies above this many bytes are stripped (Dataverse: 256 KB). */
  webhookBodyLimitBytes: number;
  clear(): void;
}

export interface DataverseSandbox {
  /** The sandbox URL (the Web API root is `${url}/api/data/v9.2/`). */
  readonly url: string;
  readonly webApiUrl: string;
  /** The resource of the token scope: `${resource}/.default`. */
  readonly resource: string;
  readonly organizationId: string;
  readonly organizationName: string;
  readonly organization: Organization;
  /** A user who edits rows in the CRM as a seller would (not the relay's application user). */
  readonly sellerUserId: string;
  /** The systemuserid of the application user behind a token subject (created on first call). */
  applicationUserId(subject: string): string;
  /** Writes as a seller would in the Dynamics UI: same validation, change log and webhook steps. */
  asUser(userId: string): {
    create(table: string, data: Record<string, unknown>): Row;
    update(table: string, id: string, data: Record<string, unknown>): Row;
    remove(table: string, id: string): void;
  };
  readonly faults: DataverseFaults;
  /** Builds every Pending index now (with `keyIndexDelayMs: null`): Active, or Failed on duplicate values. */
  finishKeyIndexes(): void;
  /** Every webhook delivery attempt, in order. */
  deliveries(): DeliveryAttempt[];
  /** Resolves when no webhook delivery is in flight. */
  idle(): Promise<void>;
  resetCounters(): void;
  counters(): {
    requests: number;
    byUser: Record<string, number>;
    throttled: number;
    batches: number;
    peakConcurrent: number;
  };
  close(): Promise<void>;
}

interface Step {
  row: Row;
  message: string;
  table: string;
  endpoint: Row;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, response: ApiResponse): void {
  const headers = { ...response.headers };
  if (response.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(response.body));
  res.writeHead(response.status, headers);
  res.end(response.body);
}

const error = (
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): ApiResponse => errorResponse(new DataverseApiError(status, code, message, headers));

export async function createDataverseSandbox(options: DataverseSandboxOptions): Promise<DataverseSandbox> {
  const organization = createOrganization();
  const organizationId = randomUUID();
  const businessUnitId = randomUUID();
  const keyIndexDelayMs = options.keyIndexDelayMs === undefined ? 200 : options.keyIndexDelayMs;
  const heldIndexes: Array<() => void> = [];
  const requestLimit = options.requestLimit ?? 6000;
  const requestWindowMs = options.requestWindowMs ?? 300_000;
  const concurrentLimit = options.concurrentLimit ?? 52;
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  const attempts: DeliveryAttempt[] = [];
  const counters = {
    requests: 0,
    byUser: {} as Record<string, number>,
    throttled: 0,
    batches: 0,
    peakConcurrent: 0,
  };
  const windows = new Map<string, number[]>();
  const concurrent = new Map<string, number>();
  const injected = { throttle: 0, retryAfter: 1, unavailable: 0, slow: 0, slowMs: 0 };
  const faults: DataverseFaults = {
    throttle(count, retryAfterSeconds) {
      injected.throttle = count;
      injected.retryAfter = retryAfterSeconds;
    },
    unavailable(count) {
      injected.unavailable = count;
    },
    slow(count, ms) {
      injected.slow = count;
      injected.slowMs = ms;
    },
    latencyMs: 0,
    webhookBodyLimitBytes: options.webhookBodyLimitBytes ?? 256 * 1024,
    clear() {
      Object.assign(injected, { throttle: 0, unavailable: 0, slow: 0 });
      faults.latencyMs = 0;
    },
  };

  // Seeds every organization has: the base currency, a seller, the SDK messages and filters steps
  // bind to, and a default publisher / solution.
  const system = { userId: randomUUID(), system: true };
  organization.createRow(
    'transactioncurrency',
    {
      transactioncurrencyid: organization.baseCurrencyId,
      isocurrencycode: 'USD',
      currencyname: 'US Dollar',
      exchangerate: 1,
    },
    system,
  );
  const sellerRow = organization.createRow(
    'systemuser',
    { fullname: 'Sam Seller', domainname: 'sam@contoso.sandbox', applicationid: null },
    system,
  );
  for (const message of ['Create', 'Update', 'Delete', 'Win', 'Lose']) {
    const sdkMessage = organization.createRow('sdkmessage', { name: message }, system);
    for (const table of ['opportunity', 'account', 'contact', 'lead']) {
      if ((message === 'Win' || message === 'Lose') && table !== 'opportunity') continue;
      organization.createRow(
        'sdkmessagefilter',
        {
          name: `${message} ${table}`,
          primaryobjecttypecode: table,
          secondaryobjecttypecode: 'none',
          _sdkmessageid_value: sdkMessage.id,
          iscustomprocessingstepallowed: true,
        },
        system,
      );
    }
  }
  const defaultPublisher = organization.createRow(
    'publisher',
    {
      uniquename: 'DefaultPublisher',
      friendlyname: 'Default Publisher',
      customizationprefix: 'new',
      customizationoptionvalueprefix: 10000,
    },
    system,
  );
  organization.createRow(
    'solution',
    {
      uniquename: 'Default',
      friendlyname: 'Default Solution',
      _publisherid_value: defaultPublisher.id,
      ismanaged: false,
      version: '1.0',
    },
    system,
  );
  organization.drainEvents();

  const applicationUsers = new Map<string, string>();
  function applicationUserId(subject: string): string {
    let id = applicationUsers.get(subject);
    if (!id) {
      id = organization.createRow(
        'systemuser',
        {
          fullname: `# app ${subject.slice(0, 8)}`,
          applicationid: subject,
          azureactivedirectoryobjectid: subject,
        },
        system,
      ).id;
      organization.drainEvents();
      applicationUsers.set(subject, id);
    }
    return id;
  }

  function scheduleKeyIndex(key: KeyDefinition, def: TableDefinition): void {
    const step = (fn: () => void, ms: number) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timer.unref();
      timers.add(timer);
    };
    const build = () => {
      if (!def.keys.has(key.logicalName)) return;
      // The index build fails when existing rows already share a key value.
      const seen = new Set<string>();
      for (const row of organization.rows(def.logicalName)) {
        const values = key.keyAttributes.map((name) => row.data[name] ?? row.data[`_${name}_value`] ?? null);
        if (values.some((v) => v === null)) continue;
        const text = JSON.stringify(values.map((v) => (typeof v === 'string' ? v.toLowerCase() : v)));
        if (seen.has(text)) {
          key.status = 'Failed';
          return;
        }
        seen.add(text);
      }
      key.status = 'Active';
    };
    if (keyIndexDelayMs === null) {
      heldIndexes.push(build);
      return;
    }
    step(() => {
      if (key.status === 'Pending') key.status = 'InProgress';
      step(build, keyIndexDelayMs / 2);
    }, keyIndexDelayMs / 2);
  }

  let serviceRoot = '';
  let url = '';
  let resource = '';
  let organizationName = '';

  function activeSteps(event: RowEvent): Step[] {
    const steps: Step[] = [];
    for (const row of organization.rows('sdkmessageprocessingstep')) {
      if ((row.data.statecode ?? 0) !== 0) continue;
      const message = organization.row('sdkmessage', String(row.data._sdkmessageid_value))?.data.name;
      const filter = organization.row('sdkmessagefilter', String(row.data._sdkmessagefilterid_value));
      const endpoint = organization.row('serviceendpoint', String(row.data._eventhandler_value));
      if (message !== event.message || !endpoint || filter?.data.primaryobjecttypecode !== event.table)
        continue;
      if (
        event.message === 'Update' &&
        typeof row.data.filteringattributes === 'string' &&
        row.data.filteringattributes.trim() !== ''
      ) {
        const wanted = row.data.filteringattributes.split(',').map((s) => s.trim().toLowerCase());
        const changed = Object.keys(event.changed).map((k) => k.replace(/^_(.+)_value$/, '$1'));
        if (!changed.some((name) => wanted.includes(name))) continue;
      }
      steps.push({ row, message: String(message), table: event.table, endpoint });
    }
    return steps;
  }

  const contracts = 'http://schemas.microsoft.com/xrm/2011/Contracts';
  function attributeValue(
    def: TableDefinition,
    name: string,
    value: unknown,
  ): { key: string; value: unknown } {
    const lookup = /^_(.+)_value$/.exec(name);
    if (lookup) {
      const column = def.columns.get(lookup[1]);
      return {
        key: lookup[1],
        value:
          value === null
            ? null
            : {
                __type: `EntityReference:${contracts}`,
                Id: value,
                KeyAttributes: [],
                LogicalName: column?.targets?.[0] ?? 'systemuser',
                Name: null,
                RowVersion: null,
              },
      };
    }
    const column = def.columns.get(name);
    if (value !== null && column) {
      if (column.type === 'Picklist' || column.type === 'State' || column.type === 'Status')
        return { key: name, value: { __type: `OptionSetValue:${contracts}`, Value: value } };
      if (column.type === 'Money')
        return { key: name, value: { __type: `Money:${contracts}`, Value: value } };
      if (column.type === 'DateTime' && typeof value === 'string')
        return { key: name, value: wcfDate(Date.parse(value), options.wcfDateOffset) };
    }
    return { key: name, value };
  }

  function executionContext(step: Step, event: RowEvent): Record<string, unknown> {
    const def = organization.table(event.table);
    const target =
      event.message === 'Delete'
        ? {
            __type: `EntityReference:${contracts}`,
            Id: event.id,
            KeyAttributes: [],
            LogicalName: event.table,
            Name: null,
            RowVersion: null,
          }
        : {
            __type: `Entity:${contracts}`,
            Attributes: Object.entries(event.changed).map(([k, v]) => attributeValue(def, k, v)),
            EntityState: null,
            FormattedValues: [],
            Id: event.id,
            KeyAttributes: [],
            LogicalName: event.table,
            RelatedEntities: [],
            RowVersion: String(event.version),
          };
    const user = organization.row('systemuser', event.userId);
    const aad =
      (user?.data.azureactivedirectoryobjectid as string | undefined) ??
      '00000000-0000-0000-0000-000000000000';
    return {
      BusinessUnitId: businessUnitId,
      CorrelationId: randomUUID(),
      Depth: 1,
      InitiatingUserAzureActiveDirectoryObjectId: aad,
      InitiatingUserId: event.userId,
      InputParameters: [{ key: 'Target', value: target }],
      IsExecutingOffline: false,
      IsInTransaction: false,
      IsOfflinePlayback: false,
      IsolationMode: 1,
      MessageName: event.message,
      Mode: step.row.data.mode ?? 1,
      OperationCreatedOn: wcfDate(event.at, options.wcfDateOffset),
      OperationId: randomUUID(),
      OrganizationId: organizationId,
      OrganizationName: organizationName,
      OutputParameters: event.message === 'Create' ? [{ key: 'id', value: event.id }] : [],
      OwningExtension: {
        Id: step.row.id,
        KeyAttributes: [],
        LogicalName: 'sdkmessageprocessingstep',
        Name: step.row.data.name ?? null,
        RowVersion: null,
      },
      ParentContext: null,
      PostEntityImages: [],
      PreEntityImages: [],
      PrimaryEntityId: event.id,
      PrimaryEntityName: event.table,
      RequestId: randomUUID(),
      SecondaryEntityName: 'none',
      SharedVariables: [{ key: 'IsAutoTransact', value: true }],
      Stage: step.row.data.stage ?? 40,
      UserAzureActiveDirectoryObjectId: aad,
      UserId: event.userId,
    };
  }

  function dispatch(events: RowEvent[]): void {
    for (const event of events) {
      for (const step of activeSteps(event)) {
        const endpoint = step.endpoint.data;
        const request: DeliveryRequest = {
          endpoint: {
            id: step.endpoint.id,
            url: String(endpoint.url),
            authtype: Number(endpoint.authtype),
            authvalue: String(endpoint.authvalue ?? ''),
          },
          stepId: step.row.id,
          body: executionContext(step, event),
          messageName: event.message,
          primaryEntityId: event.id,
          headers: {
            'x-ms-dynamics-organization': organizationName,
            'x-ms-dynamics-entity-name': event.table,
            'x-ms-dynamics-request-name': event.message,
          },
        };
        const asyncWrite = (data: Record<string, unknown>) => {
          organization.createRow('asyncoperation', data, { userId: event.userId, system: true });
          organization.drainEvents();
        };
        const delivery = deliver(request, {
          timeoutMs: options.webhookTimeoutMs ?? 60_000,
          maxBodyBytes: faults.webhookBodyLimitBytes,
          onAttempt: (attempt) => attempts.push(attempt),
          onSucceeded: () => {
            if (step.row.data.asyncautodelete !== true)
              asyncWrite({
                name: step.row.data.name ?? 'webhook',
                statecode: 3,
                statuscode: 30,
                operationtype: 1,
                _owningextensionid_value: step.row.id,
                _regardingobjectid_value: event.id,
                message: null,
              });
          },
          onFailed: (_request, reason) => {
            options.logger?.warn(
              { stepId: step.row.id, reason },
              'dataverse sandbox webhook delivery failed',
            );
            // A failed asynchronous operation stays, whatever asyncautodelete says (contract §3).
            asyncWrite({
              name: step.row.data.name ?? 'webhook',
              statecode: 3,
              statuscode: 31,
              operationtype: 1,
              _owningextensionid_value: step.row.id,
              _regardingobjectid_value: event.id,
              message: reason,
              friendlymessage: reason,
            });
          },
        }).catch((err: unknown) => options.logger?.error({ err }, 'dataverse sandbox delivery crashed'));
        inFlight.add(delivery);
        void delivery.finally(() => inFlight.delete(delivery));
      }
    }
  }

  function commit(): void {
    const events = organization.drainEvents();
    if (events.length === 0) return;
    // Asynchronous steps run after the transaction commits, never inside the caller's request;
    // the pending dispatch counts as in flight so `idle()` waits for it.
    const pending = new Promise<void>((resolve) =>
      setImmediate(() => {
        dispatch(events);
        resolve();
      }),
    );
    inFlight.add(pending);
    void pending.finally(() => inFlight.delete(pending));
  }

  function limit(userId: string): ApiResponse | undefined {
    const now = Date.now();
    const window = (windows.get(userId) ?? []).filter((t) => t > now - requestWindowMs);
    windows.set(userId, window);
    if (window.length >= requestLimit) {
      const retryAfter = Math.max(1, Math.ceil((window[0] + requestWindowMs - now) / 1000));
      return error(
        429,
        ERROR_CODES.tooManyRequests,
        `Number of requests exceeded the limit of ${requestLimit} over time window of ${requestWindowMs / 1000} seconds.`,
        { 'Retry-After': String(retryAfter) },
      );
    }
    if ((concurrent.get(userId) ?? 0) >= concurrentLimit)
      return error(
        429,
        ERROR_CODES.tooManyConcurrent,
        `Number of concurrent requests exceeded the limit of ${concurrentLimit}.`,
        { 'Retry-After': '1' },
      );
    window.push(now);
    return undefined;
  }

  async function handle(req: IncomingMessage): Promise<ApiResponse> {
    const path = (req.url ?? '/').replace(/^\/+/, '/');
    if (path.startsWith('/_sandbox/'))
      return handleAdmin(req.method ?? 'GET', path, await readBody(req), admin);
    const match = /^\/api\/data\/v9\.[0-2]\/(.*)$/s.exec(path);
    if (!match) return error(404, ERROR_CODES.badRequest, `No Web API at ${path.split('?')[0]}`);
    const body = await readBody(req);
    const authorization = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
    const challenge = {
      'WWW-Authenticate': `Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, resource_id=${resource}`,
    };
    if (!bearer)
      return error(
        401,
        ERROR_CODES.unauthorized,
        'The Authorization header is missing or not a Bearer token.',
        challenge,
      );
    const verified = options.verifyAccessToken(bearer[1]);
    if (!verified || verified.audience !== resource)
      return error(
        401,
        ERROR_CODES.unauthorized,
        `The bearer token is invalid, expired or not issued for ${resource}.`,
        challenge,
      );
    const userId = applicationUserId(verified.subject);
    counters.requests += 1;
    counters.byUser[userId] = (counters.byUser[userId] ?? 0) + 1;
    if (injected.throttle > 0) {
      injected.throttle -= 1;
      counters.throttled += 1;
      return error(
        429,
        ERROR_CODES.tooManyRequests,
        `Number of requests exceeded the limit of ${requestLimit} over time window of ${requestWindowMs / 1000} seconds.`,
        { 'Retry-After': String(injected.retryAfter) },
      );
    }
    if (injected.unavailable > 0) {
      injected.unavailable -= 1;
      return error(503, ERROR_CODES.unavailable, 'The service is temporarily unavailable.');
    }
    if (injected.slow > 0) {
      injected.slow -= 1;
      await delay(injected.slowMs);
    }
    const limited = limit(userId);
    if (limited) {
      counters.throttled += 1;
      return limited;
    }
    concurrent.set(userId, (concurrent.get(userId) ?? 0) + 1);
    counters.peakConcurrent = Math.max(counters.peakConcurrent, concurrent.get(userId)!);
    try {
      // Injected latency counts as execution time: the request holds its concurrency slot meanwhile.
      if (faults.latencyMs > 0) await delay(faults.latencyMs);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === 'string') headers[name.toLowerCase()] = value;
      const target = match[1];
      const writeOptions = { userId };
      let response: ApiResponse;
      if (target.split('?')[0] === '$batch') {
        if (req.method !== 'POST') return error(405, ERROR_CODES.badRequest, '$batch takes POST');
        counters.batches += 1;
        response = webApi.batch(body, headers['content-type'], headers, writeOptions, commit);
      } else {
        response = webApi.execute({ method: req.method ?? 'GET', target, headers, body }, writeOptions);
        commit();
      }
      const remaining = requestLimit - (windows.get(userId)?.length ?? 0);
      response.headers['x-ms-ratelimit-burst-remaining-xrm-requests'] = String(remaining);
      response.headers['x-ms-service-request-id'] = randomUUID();
      return response;
    } catch (err) {
      organization.drainEvents();
      if (err instanceof DataverseApiError) return errorResponse(err);
      options.logger?.error({ err }, 'dataverse sandbox request failed');
      return error(500, '0x80040216', err instanceof Error ? err.message : String(err));
    } finally {
      concurrent.set(userId, (concurrent.get(userId) ?? 1) - 1);
    }
  }

  const tls = options.https ? await sandboxTls() : undefined;
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req).then(
      (response) => send(res, response),
      (err: unknown) => send(res, error(500, '0x80040216', err instanceof Error ? err.message : String(err))),
    );
  };
  const server = tls
    ? https.createServer({ key: tls.keyPem, cert: tls.certPem }, listener)
    : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  url = `${tls ? 'https' : 'http'}://${address.address}:${address.port}`;
  serviceRoot = `${url}/api/data/v9.2/`;
  resource = (options.resource ?? (tls ? url : 'https://cosellsandbox.crm.dynamics.com')).replace(/\/$/, '');
  organizationName = options.organizationName ?? new URL(resource).host;
  const webApi = createWebApi({
    organization,
    serviceRoot,
    organizationId,
    businessUnitId,
    defaultPageSize: options.maxPageSize ?? 5000,
    changeTrackingRetentionMs: options.changeTrackingRetentionMs ?? 7 * 86_400_000,
    deletedEntityFormat: options.deletedEntityFormat ?? '4.0',
    scheduleKeyIndex,
    now: options.now ?? (() => Date.now()),
    checkWebhookUrl: (value: string) => {
      if (!options.enforceWebhookPorts) return;
      const port = new URL(value).port;
      if (port !== '' && port !== '80' && port !== '443')
        throw new DataverseApiError(
          400,
          ERROR_CODES.badPayload,
          `The webhook url ${value} uses port ${port}; only 80 and 443 are allowed.`,
        );
    },
  });

  const asUser = (userId: string) => {
    const run = <T>(fn: () => T): T => {
      try {
        return fn();
      } finally {
        commit();
      }
    };
    return {
      create: (table: string, data: Record<string, unknown>) =>
        run(() => organization.createRow(table, data, { userId })),
      update: (table: string, id: string, data: Record<string, unknown>) =>
        run(() => organization.updateRow(table, id, data, { userId })),
      remove: (table: string, id: string) => run(() => organization.deleteRow(table, id, { userId })),
    };
  };
  const resetCounters = () => {
    Object.assign(counters, { requests: 0, byUser: {}, throttled: 0, batches: 0, peakConcurrent: 0 });
  };
  const finishKeyIndexes = () => {
    for (const build of heldIndexes.splice(0)) build();
  };
  const seller = asUser(sellerRow.id);
  const admin: AdminTarget = {
    sellerUserId: sellerRow.id,
    isTable: (table) => organization.tables.has(table),
    rows: (table) => organization.rows(table).map((r) => ({ ...r.data, '@odata.etag': `W/"${r.version}"` })),
    row: (table, id) => {
      const r = organization.row(table, id);
      return r && { ...r.data, '@odata.etag': `W/"${r.version}"` };
    },
    create: (table, data) => seller.create(table, data).data,
    update: (table, id, data) => seller.update(table, id, data).data,
    remove: (table, id) => seller.remove(table, id),
    counters: () => ({ ...counters, byUser: { ...counters.byUser } }),
    resetCounters,
    deliveries: () => [...attempts],
    setFaults(set) {
      if (set.throttle) faults.throttle(set.throttle.count, set.throttle.retryAfterSeconds);
      if (set.unavailable) faults.unavailable(set.unavailable.count);
      if (set.slow) faults.slow(set.slow.count, set.slow.ms);
      if (set.latencyMs !== undefined) faults.latencyMs = set.latencyMs;
      if (set.webhookBodyLimitBytes !== undefined) faults.webhookBodyLimitBytes = set.webhookBodyLimitBytes;
    },
    clearFaults: () => faults.clear(),
    finishKeyIndexes,
  };

  return {
    url,
    webApiUrl: serviceRoot,
    resource,
    organizationId,
    organizationName,
    organization,
    sellerUserId: sellerRow.id,
    applicationUserId,
    asUser,
    faults,
    finishKeyIndexes,
    deliveries: () => [...attempts],
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    counters: () => ({ ...counters, byUser: { ...counters.byUser } }),
    resetCounters,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
