import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../../src/logger.ts';
import { sandboxTls } from '../partner-center/certificates.ts';
import { createSandboxAuth } from './auth.ts';
import type { SandboxAuth, Session } from './auth.ts';
import { createSandboxControls } from './controls.ts';
import type {
  SandboxControls,
  SandboxCounters,
  SandboxFaults,
  SandboxRequestLogEntry,
  ValidationRule,
} from './controls.ts';
import { createIdGenerator, toId18 } from './ids.ts';
import { createRecordStore, RecordWriteError } from './recordStore.ts';
import type { RecordStore, SalesforceError, SObjectRecord } from './recordStore.ts';
import type { FieldDefinition, FieldType, ObjectDefinition } from './schema.ts';
import { SoqlError } from './soql.ts';
import { createUserDirectory, SANDBOX_ORG_ID } from './users.ts';
import type { SandboxUser, UserDirectory } from './users.ts';

/**
 * The REST half of the Salesforce sandbox: OAuth, describe, SOQL, single-record CRUD and upsert,
 * and sObject Collections, answering with Salesforce's status codes, bodies and
 * Sforce-Limit-Info header so that jsforce cannot tell it from an org except by URL.
 * Admin routes under /_sandbox/ expose counters, faults and records to other processes.
 */

/** sObject Collections accept at most 200 records per call. */
export const MAX_COLLECTION_RECORDS = 200;
/** SOQL returns at most 2000 records per batch; the rest follow through nextRecordsUrl. */
const QUERY_BATCH_SIZE = 2000;
const FIRST_VERSION = 42;
const LATEST_VERSION = 64;

export interface SalesforceRestAppOptions {
  store: RecordStore;
  users: UserDirectory;
  auth: SandboxAuth;
  controls: SandboxControls;
  logger?: Logger;
}

interface ApiError {
  errorCode: string;
  message: string;
  fields?: string[];
}

function apiErrors(res: Response, status: number, errors: ApiError[]): void {
  res.status(status).json(errors.map((e) => (e.fields ? e : { message: e.message, errorCode: e.errorCode })));
}

/** The release name of an API version (62.0 is Winter '25), as GET /services/data lists them. */
function releaseLabel(major: number): string {
  const offset = major - 62;
  const season = ['Winter', 'Spring', 'Summer'][((offset % 3) + 3) % 3];
  return `${season} '${25 + Math.floor(offset / 3)}`;
}

/** Sorts a request into an endpoint kind for the counters; `apiCall` when it counts against the allocation. */
function classify(method: string, path: string): { endpoint: string; apiCall: boolean } {
  if (path === '/services/oauth2/token') return { endpoint: 'oauth.token', apiCall: false };
  if (path === '/services/oauth2/userinfo' || path.startsWith('/id/'))
    return { endpoint: 'oauth.userinfo', apiCall: false };
  if (/^\/services\/data\/?$/.test(path)) return { endpoint: 'versions', apiCall: false };
  const match = /^\/services\/data\/v\d+\.\d(\/.*)?$/.exec(path);
  if (!match) return { endpoint: 'other', apiCall: false };
  const parts = (match[1] ?? '').split('/').filter(Boolean);
  // Salesforce does not count calls to the version root against the allocation.
  if (parts.length === 0) return { endpoint: 'resources', apiCall: false };
  const [head, second, third, fourth] = parts;
  let endpoint = 'other';
  if (head === 'query' || head === 'queryAll') endpoint = 'query';
  else if (head === 'limits') endpoint = 'limits';
  else if (head === 'sobjects') {
    if (!second) endpoint = 'describeGlobal';
    else if (third === 'describe') endpoint = 'describe';
    else if (!third) endpoint = method === 'POST' ? 'sobject.create' : 'sobject.info';
    else if (!fourth)
      endpoint =
        { GET: 'sobject.retrieve', PATCH: 'sobject.update', DELETE: 'sobject.delete' }[method] ??
        'sobject.other';
    else endpoint = method === 'PATCH' ? 'sobject.upsert' : 'sobject.retrieveByExternalId';
  } else if (head === 'composite' && second === 'sobjects') {
    if (!third)
      endpoint =
        { POST: 'collections.create', PATCH: 'collections.update', DELETE: 'collections.delete' }[method] ??
        'collections.other';
    else if (fourth && method === 'PATCH') endpoint = 'collections.upsert';
    else endpoint = 'collections.retrieve';
  }
  return { endpoint, apiCall: true };
}

const SOAP_TYPES: Readonly<Record<FieldType, string>> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  string: 'xsd:string',
  textarea: 'xsd:string',
  url: 'xsd:string',
  email: 'xsd:string',
  phone: 'xsd:string',
  picklist: 'xsd:string',
  boolean: 'xsd:boolean',
  currency: 'xsd:double',
  double: 'xsd:double',
  percent: 'xsd:double',
  date: 'xsd:date',
  datetime: 'xsd:dateTime',
};
const NUMBER_TYPES = new Set<FieldType>(['currency', 'double', 'percent']);
// Fields the platform fills in on every insert: a client need not (and cannot) send them.
const SYSTEM_DEFAULTED = new Set([
  'Id',
  'CreatedDate',
  'CreatedById',
  'LastModifiedDate',
  'LastModifiedById',
  'SystemModstamp',
  'OwnerId',
  'IsClosed',
  'IsWon',
]);

/** DescribeFieldResult, with the properties an admin tool or a schema-fitting client reads. */
function describeField(f: FieldDefinition): Record<string, unknown> {
  const isNumber = NUMBER_TYPES.has(f.type);
  const longText = f.type === 'textarea' && f.length > 255;
  const system = SYSTEM_DEFAULTED.has(f.name) && !f.custom;
  const defaultValue = f.defaultValue ?? null;
  return {
    aggregatable: !longText && f.type !== 'id',
    aiPredictionField: false,
    autoNumber: false,
    byteLength: f.type === 'id' || f.type === 'reference' ? 18 : f.length * 3,
    calculated: false,
    calculatedFormula: null,
    cascadeDelete: false,
    caseSensitive: f.caseSensitive,
    compoundFieldName: null,
    controllerName: null,
    createable: f.createable,
    custom: f.custom,
    defaultValue,
    defaultValueFormula: null,
    // Booleans are never null, so an omitted checkbox is stored with its default.
    defaultedOnCreate: system || f.defaultValue !== undefined || f.type === 'boolean',
    dependentPicklist: false,
    deprecatedAndHidden: false,
    digits: 0,
    displayLocationInDecimal: false,
    encrypted: false,
    externalId: f.externalId,
    extraTypeInfo: f.type === 'textarea' ? 'plaintextarea' : null,
    filterable: !longText,
    filteredLookupInfo: null,
    formulaTreatNullNumberAsZero: false,
    groupable: !longText && !isNumber && f.type !== 'datetime',
    highScaleNumber: false,
    htmlFormatted: false,
    idLookup: f.type === 'id' || f.externalId,
    inlineHelpText: null,
    label: f.label,
    length: f.type === 'id' || f.type === 'reference' ? 18 : isNumber || f.type === 'boolean' ? 0 : f.length,
    mask: null,
    maskType: null,
    name: f.name,
    nameField: f.name === 'Name',
    namePointing: false,
    // Required fields and the platform's own never hold null; everything else may.
    nillable: !f.required && !system && f.type !== 'boolean',
    permissionable: f.custom && !f.required,
    picklistValues: (f.picklistValues ?? []).map((value) => ({
      active: true,
      defaultValue: value === defaultValue,
      label: value,
      validFor: null,
      value,
    })),
    polymorphicForeignKey: false,
    precision: isNumber ? (f.precision ?? 18) : 0,
    queryByDistance: false,
    referenceTargetField: null,
    referenceTo: f.referenceTo ? [f.referenceTo] : [],
    relationshipName: f.relationshipName ?? null,
    relationshipOrder: null,
    restrictedDelete: false,
    restrictedPicklist: f.restrictedPicklist ?? false,
    scale: isNumber ? (f.scale ?? 0) : 0,
    searchPrefilterable: false,
    soapType: SOAP_TYPES[f.type],
    sortable: !longText,
    type: f.type,
    unique: f.unique,
    updateable: f.updateable,
    writeRequiresMasterRead: false,
  };
}

/** DescribeSObjectResult (the global describe lists the same without `fields`). */
function describeObject(object: ObjectDefinition, version: string): Record<string, unknown> {
  const base = `/services/data/v${version}/sobjects/${object.name}`;
  const system = object.name === 'User';
  return {
    activateable: false,
    associateEntityType: null,
    associateParentEntity: null,
    childRelationships: [],
    compactLayoutable: true,
    createable: true,
    custom: false,
    customSetting: false,
    deepCloneable: false,
    defaultImplementation: null,
    deletable: !system,
    deprecatedAndHidden: false,
    extendedBy: null,
    extendsInterfaces: null,
    feedEnabled: false,
    fields: object.fields.map(describeField),
    hasSubtypes: false,
    implementedBy: null,
    implementsInterfaces: null,
    isInterface: false,
    isSubtype: false,
    keyPrefix: object.keyPrefix,
    label: object.label,
    labelPlural: `${object.label}s`,
    layoutable: true,
    listviewable: null,
    lookupLayoutable: null,
    mergeable: object.name === 'Account' || object.name === 'Contact',
    mruEnabled: true,
    name: object.name,
    namedLayoutInfos: [],
    networkScopeFieldName: null,
    queryable: true,
    recordTypeInfos: [
      {
        active: true,
        available: true,
        defaultRecordTypeMapping: true,
        developerName: 'Master',
        master: true,
        name: 'Master',
        recordTypeId: '012000000000000AAA',
        urls: { layout: `${base}/describe/layouts/012000000000000AAA` },
      },
    ],
    replicateable: true,
    retrieveable: true,
    searchLayoutable: true,
    searchable: true,
    sobjectDescribeOption: 'FULL',
    supportedScopes: [{ label: 'All', name: 'everything' }],
    triggerable: true,
    undeletable: !system,
    updateable: true,
    urls: {
      compactLayouts: `${base}/describe/compactLayouts`,
      rowTemplate: `${base}/{ID}`,
      describe: `${base}/describe`,
      sobject: base,
    },
  };
}

function withAttributes(
  sobject: string,
  record: SObjectRecord,
  version: string,
  fields?: string[],
): SObjectRecord {
  const out: SObjectRecord = {
    attributes: { type: sobject, url: `/services/data/v${version}/sobjects/${sobject}/${String(record.Id)}` },
  };
  for (const [name, value] of Object.entries(record)) {
    if (!fields || fields.some((f) => f.toLowerCase() === name.toLowerCase())) out[name] = value;
  }
  return out;
}

interface SaveResult {
  /** Absent on a failed entry: Salesforce's collection results carry no `id` key then. */
  id?: string;
  success: boolean;
  errors: SalesforceError[];
  created?: boolean;
}

function failed(errors: SalesforceError[]): SaveResult {
  return { success: false, errors };
}

function lockError(id: string | null): SalesforceError {
  return {
    statusCode: 'UNABLE_TO_LOCK_ROW',
    message: `unable to obtain exclusive access to this record or 1 records: ${id ?? ''}`.trim(),
    fields: [],
  };
}

/** Builds the Express app (no listen), so it can be mounted or served by the caller. */
export function createSalesforceRestApp(options: SalesforceRestAppOptions): express.Express {
  const { store, users, auth, controls } = options;
  const logger = options.logger?.child({ module: 'sandbox.salesforce' });
  const cursors = new Map<string, { records: SObjectRecord[]; version: string }>();
  const newLocator = createIdGenerator(Date.now() % 1_000_000);
  const app = express();
  app.disable('x-powered-by');

  const baseUrl = (req: Request): string => `${req.protocol}://${req.get('host')}`;

  // ---- admin routes: no auth, no counting, no faults (a separate demo or bench process uses them)
  const admin = express.Router();
  admin.use(express.json());
  admin.get('/counters', (_req, res) => {
    res.json(controls.counters());
  });
  admin.post('/counters/reset', (_req, res) => {
    controls.resetCounters();
    res.status(204).end();
  });
  admin.get('/faults', (_req, res) => {
    res.json(controls.faults());
  });
  admin.post('/faults', (req, res) => {
    try {
      res.json(controls.setFaults((req.body ?? {}) as Partial<SandboxFaults>));
    } catch (error) {
      res.status(400).json({ error: { code: 'REQUEST_INVALID', message: (error as Error).message } });
    }
  });
  admin.delete('/faults', (_req, res) => {
    controls.clearFaults();
    res.status(204).end();
  });
  // An admin's validation rules (controls.ts): switched on and off by a test or another process.
  admin.get('/validation-rules', (_req, res) => {
    res.json({ rules: controls.validationRules() });
  });
  admin.post('/validation-rules', (req, res) => {
    try {
      res.json({ rules: controls.addValidationRule(req.body as ValidationRule) });
    } catch (error) {
      res.status(400).json({ error: { code: 'REQUEST_INVALID', message: (error as Error).message } });
    }
  });
  admin.delete('/validation-rules/:name', (req, res) => {
    res.status(controls.removeValidationRule(req.params.name) ? 204 : 404).end();
  });
  admin.delete('/validation-rules', (_req, res) => {
    controls.clearValidationRules();
    res.status(204).end();
  });
  admin.post('/sessions/expire', (_req, res) => {
    auth.expireAll();
    res.status(204).end();
  });
  admin.get('/users', (_req, res) => {
    res.json({ integrationUser: publicUser(users.integrationUser), users: users.users.map(publicUser) });
  });
  admin.get('/records/:type', (req, res) => {
    if (!store.schema.object(req.params.type)) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: `Unknown object ${req.params.type}` } });
      return;
    }
    let records = store.all(req.params.type);
    for (const [field, value] of Object.entries(req.query)) {
      if (typeof value === 'string')
        records = records.filter((r) =>
          store.findBy(req.params.type, field, value).some((m) => m.Id === r.Id),
        );
    }
    res.json({ records });
  });
  admin.get('/records/:type/:id', (req, res) => {
    const record = store.schema.object(req.params.type)
      ? store.get(req.params.type, req.params.id)
      : undefined;
    if (!record)
      res
        .status(404)
        .json({ error: { code: 'NOT_FOUND', message: `No ${req.params.type} ${req.params.id}` } });
    else res.json(record);
  });
  app.use('/_sandbox', admin);

  // ---- every Salesforce request: latency, counting, the limit header
  app.use(async (req: Request, res: Response, next: NextFunction) => {
    const { latencyMs } = controls.faults();
    if (latencyMs > 0) await delay(latencyMs);
    res.locals.call = classify(req.method, req.path);
    logger?.debug(
      { method: req.method, path: req.path, endpoint: (res.locals.call as { endpoint: string }).endpoint },
      'sandbox request',
    );
    next();
  });

  // ---- OAuth
  app.post('/services/oauth2/token', express.urlencoded({ extended: false }), (req, res) => {
    controls.record('oauth.token', false);
    const result = auth.token((req.body ?? {}) as Record<string, unknown>, baseUrl(req));
    res.set('Cache-Control', 'no-store');
    if ('status' in result) res.status(result.status).json(result.body);
    else res.json(result);
  });

  const requireSession = (req: Request, res: Response, next: NextFunction): void => {
    const session = auth.session(req.get('authorization'));
    if (!session) {
      apiErrors(res, 401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
      return;
    }
    res.locals.session = session;
    next();
  };

  const identity = (req: Request, res: Response): void => {
    controls.record('oauth.userinfo', false);
    const { user } = res.locals.session as Session;
    res.json({
      sub: auth.identityUrl(baseUrl(req), user),
      id: auth.identityUrl(baseUrl(req), user),
      user_id: user.id,
      organization_id: SANDBOX_ORG_ID,
      preferred_username: user.username,
      username: user.username,
      name: user.name,
      email: user.email,
      active: true,
      user_type: 'STANDARD',
    });
  };
  app.get('/services/oauth2/userinfo', requireSession, identity);
  app.get('/id/:org/:user', requireSession, identity);

  app.get(['/services/data', '/services/data/'], (_req, res) => {
    controls.record('versions', false);
    const versions = [];
    for (let major = FIRST_VERSION; major <= LATEST_VERSION; major += 1) {
      versions.push({ label: releaseLabel(major), url: `/services/data/v${major}.0`, version: `${major}.0` });
    }
    res.json(versions);
  });

  // ---- the versioned REST API
  const api = express.Router({ mergeParams: true });
  app.use(
    '/services/data/:version',
    (req: Request, res: Response, next: NextFunction) => {
      const match = /^v(\d+)\.0$/.exec(req.params.version as string);
      const major = match ? Number(match[1]) : 0;
      if (major < FIRST_VERSION || major > LATEST_VERSION) {
        apiErrors(res, 404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
        return;
      }
      res.locals.version = `${major}.0`;
      next();
    },
    requireSession,
    (req: Request, res: Response, next: NextFunction) => {
      const call = res.locals.call as { endpoint: string; apiCall: boolean };
      if (call.apiCall && (controls.takeLimitFault() || controls.limitReached())) {
        controls.record(`${call.endpoint}.rejected`, false);
        res.set('Sforce-Limit-Info', controls.limitInfoHeader());
        apiErrors(res, 403, [
          { errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' },
        ]);
        return;
      }
      controls.record(call.endpoint, call.apiCall);
      res.set('Sforce-Limit-Info', controls.limitInfoHeader());
      next();
    },
    express.json({ limit: '20mb' }),
    (req: Request, res: Response, next: NextFunction) => {
      const call = res.locals.call as { endpoint: string };
      controls.logRequest({
        at: Date.now(),
        method: req.method,
        path: req.path,
        endpoint: call.endpoint,
        ...(req.body === undefined ? {} : { body: req.body as unknown }),
      });
      next();
    },
    api,
  );

  const version = (res: Response): string => res.locals.version as string;
  const userOf = (res: Response): SandboxUser => (res.locals.session as Session).user;

  /** The object named in the URL, or a 404 like Salesforce's for an unknown type. */
  const objectOf = (req: Request, res: Response): ObjectDefinition | undefined => {
    const object = store.schema.object(req.params.type as string);
    if (!object)
      apiErrors(res, 404, [{ errorCode: 'NOT_FOUND', message: `The requested resource does not exist` }]);
    return object;
  };

  /** Unknown fields fail the whole request, as Salesforce's JSON deserializer does. */
  const unknownFieldError = (
    object: ObjectDefinition,
    record: SObjectRecord,
    allowed: string[] = [],
  ): ApiError | undefined => {
    for (const name of Object.keys(record)) {
      if (name === 'attributes' || allowed.includes(name)) continue;
      if (!store.schema.field(object.name, name))
        return {
          errorCode: 'INVALID_FIELD',
          message: `No such column '${name}' on sobject of type ${object.name}`,
        };
    }
    return undefined;
  };

  const sendWriteError = (res: Response, error: unknown): void => {
    if (error instanceof RecordWriteError) {
      apiErrors(
        res,
        400,
        error.errors.map((e) => ({ errorCode: e.statusCode, message: e.message, fields: e.fields })),
      );
      return;
    }
    throw error;
  };

  api.get('/', (_req, res) => {
    const root = `/services/data/v${version(res)}`;
    res.json({
      sobjects: `${root}/sobjects`,
      query: `${root}/query`,
      queryAll: `${root}/queryAll`,
      composite: `${root}/composite`,
    });
  });

  // ---- SOQL
  const runQuery = (req: Request, res: Response): void => {
    const q = req.query.q;
    if (typeof q !== 'string' || q.trim() === '') {
      apiErrors(res, 400, [{ errorCode: 'MALFORMED_QUERY', message: 'A query string has to be specified' }]);
      return;
    }
    try {
      const result = store.query(q, version(res));
      // SELECT COUNT() answers with the count as totalSize and no records.
      if (result.count !== undefined) {
        res.json({ totalSize: result.count, done: true, records: [] });
        return;
      }
      res.json(firstPage(result.records, version(res)));
    } catch (error) {
      if (error instanceof SoqlError)
        apiErrors(res, 400, [{ errorCode: error.errorCode, message: error.message }]);
      else throw error;
    }
  };
  /**
   * A result larger than one batch is held under a query locator: an 18-character id (key prefix
   * 01g) plus `-<offset>` in nextRecordsUrl, as Salesforce pages. Every batch repeats the full
   * totalSize.
   */
  const firstPage = (records: SObjectRecord[], v: string): Record<string, unknown> => {
    if (records.length <= QUERY_BATCH_SIZE) return { totalSize: records.length, done: true, records };
    const locator = newLocator('QueryLocator');
    cursors.set(locator, { records, version: v });
    return batchAt(locator, 0);
  };
  const batchAt = (locator: string, offset: number): Record<string, unknown> => {
    const cursor = cursors.get(locator)!;
    const end = offset + QUERY_BATCH_SIZE;
    const done = end >= cursor.records.length;
    if (done) cursors.delete(locator);
    return {
      totalSize: cursor.records.length,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/v${cursor.version}/query/${locator}-${end}` }),
      records: cursor.records.slice(offset, end),
    };
  };
  api.get('/query', runQuery);
  api.get('/queryAll', runQuery);
  api.get('/query/:locator', (req, res) => {
    const match = /^([A-Za-z0-9]{18})-(\d+)$/.exec(req.params.locator as string);
    const offset = match ? Number(match[2]) : Number.NaN;
    const cursor = match ? cursors.get(match[1]) : undefined;
    if (
      !match ||
      !cursor ||
      offset <= 0 ||
      offset >= cursor.records.length ||
      offset % QUERY_BATCH_SIZE !== 0
    ) {
      apiErrors(res, 400, [{ errorCode: 'INVALID_QUERY_LOCATOR', message: 'invalid query locator' }]);
      return;
    }
    res.json(batchAt(match[1], offset));
  });

  // ---- limits: the org's allocations; DailyApiRequests is what Sforce-Limit-Info reports
  api.get('/limits', (_req, res) => {
    const { used, limit } = controls.counters().apiUsage;
    const allocation = (max: number, remaining = max) => ({ Max: max, Remaining: remaining });
    res.json({
      ConcurrentAsyncGetReportInstances: allocation(200),
      ConcurrentSyncReportRuns: allocation(20),
      DailyApiRequests: allocation(limit, Math.max(0, limit - used)),
      DailyAsyncApexExecutions: allocation(250_000),
      DailyBulkApiBatches: allocation(15_000),
      DailyBulkV2QueryJobs: allocation(10_000),
      DailyDurableStreamingApiEvents: allocation(200_000),
      DailyStandardVolumePlatformEvents: allocation(10_000),
      DataStorageMB: allocation(5),
      FileStorageMB: allocation(20),
      HourlyPublishedPlatformEvents: allocation(250_000),
      HourlyPublishedStandardVolumePlatformEvents: allocation(1_000),
      MassEmail: allocation(10),
      SingleEmail: allocation(15),
    });
  });

  // ---- describe
  api.get('/sobjects', (_req, res) => {
    res.json({
      encoding: 'UTF-8',
      maxBatchSize: MAX_COLLECTION_RECORDS,
      sobjects: store.schema.objects().map((o) => {
        const { fields: _fields, ...rest } = describeObject(o, version(res));
        return rest;
      }),
    });
  });
  api.get('/sobjects/:type/describe', (req, res) => {
    const object = objectOf(req, res);
    if (object) res.json(describeObject(object, version(res)));
  });
  api.get('/sobjects/:type', (req, res) => {
    const object = objectOf(req, res);
    if (!object) return;
    const { fields: _fields, ...objectDescribe } = describeObject(object, version(res));
    const recentItems = store
      .all(object.name)
      .slice(-10)
      .reverse()
      .map((r) => withAttributes(object.name, { Id: r.Id, Name: r.Name }, version(res)));
    res.json({ objectDescribe, recentItems });
  });

  // ---- single records
  api.post('/sobjects/:type', (req, res) => {
    const object = objectOf(req, res);
    if (!object) return;
    const body = (req.body ?? {}) as SObjectRecord;
    const invalid = unknownFieldError(object, body);
    if (invalid) return apiErrors(res, 400, [invalid]);
    if (controls.takeLockFault()) return apiErrors(res, 400, [{ ...toApiError(lockError(null)) }]);
    try {
      const record = store.insert(object.name, body, userOf(res).id);
      res.status(201).json({ id: record.Id, success: true, errors: [] });
    } catch (error) {
      sendWriteError(res, error);
    }
  });
  api.get('/sobjects/:type/:id', (req, res) => {
    const object = objectOf(req, res);
    if (!object) return;
    const record = store.get(object.name, req.params.id as string);
    if (!record)
      return apiErrors(res, 404, [
        { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
      ]);
    const fields =
      typeof req.query.fields === 'string' ? req.query.fields.split(',').map((f) => f.trim()) : undefined;
    res.json(withAttributes(object.name, record, version(res), fields));
  });
  api.patch('/sobjects/:type/:id', (req, res) => {
    const object = objectOf(req, res);
    if (!object) return;
    const id = req.params.id as string;
    const body = (req.body ?? {}) as SObjectRecord;
    const invalid = unknownFieldError(object, body);
    if (invalid) return apiErrors(res, 400, [invalid]);
    if (!store.get(object.name, id))
      return apiErrors(res, 404, [
        { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
      ]);
    if (controls.takeLockFault()) return apiErrors(res, 400, [toApiError(lockError(toId18(id) ?? id))]);
    try {
      store.update(object.name, id, body, userOf(res).id);
      res.status(204).end();
    } catch (error) {
      sendWriteError(res, error);
    }
  });
  api.delete('/sobjects/:type/:id', (req, res) => {
    const object = objectOf(req, res);
    if (!object) return;
    if (!store.delete(object.name, req.params.id as string, userOf(res).id))
      return apiErrors(res, 404, [
        { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
      ]);
    res.status(204).end();
  });

  /** The external id field named in an upsert URL, or an error response. */
  const externalIdField = (object: ObjectDefinition, name: string, res: Response): string | undefined => {
    const field = store.schema.field(object.name, name);
    if (!field) {
      apiErrors(res, 404, [
        {
          errorCode: 'NOT_FOUND',
          message: `Provided external ID field does not exist or is not accessible: ${name}`,
        },
      ]);
      return undefined;
    }
    if (!field.externalId) {
      apiErrors(res, 400, [
        { errorCode: 'INVALID_FIELD', message: `Field ${field.name} is not an External ID or Id field` },
      ]);
      return undefined;
    }
    return field.name;
  };

  api.get('/sobjects/:type/:field/:value', (req, res) => {
    const object = objectOf(req, res);
    if (!object) return;
    const field = externalIdField(object, req.params.field as string, res);
    if (!field) return;
    const matches = store.findBy(object.name, field, req.params.value);
    if (matches.length === 0)
      return apiErrors(res, 404, [
        { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
      ]);
    if (matches.length > 1)
      return res
        .status(300)
        .json(matches.map((m) => `/services/data/v${version(res)}/sobjects/${object.name}/${String(m.Id)}`));
    res.json(withAttributes(object.name, matches[0], version(res)));
  });

  api.patch('/sobjects/:type/:field/:value', (req, res) => {
    const object = objectOf(req, res);
    if (!object) return;
    const field = externalIdField(object, req.params.field as string, res);
    if (!field) return;
    const body = (req.body ?? {}) as SObjectRecord;
    const invalid = unknownFieldError(object, body);
    if (invalid) return apiErrors(res, 400, [invalid]);
    const matches = store.findBy(object.name, field, req.params.value);
    if (matches.length > 1)
      return res
        .status(300)
        .json(matches.map((m) => `/services/data/v${version(res)}/sobjects/${object.name}/${String(m.Id)}`));
    const result = upsertOne(object, field, String(req.params.value), body, userOf(res).id);
    if (!result.success) return apiErrors(res, 400, result.errors.map(toApiError));
    // From API 46.0 an update answers 200 with the id and `created: false`, and a create carries
    // `created: true`; before 46.0 an update was a bare 204 and a create had no `created`.
    const current = Number(version(res)) >= 46;
    if (result.created)
      res
        .status(201)
        .json({ id: result.id, success: true, errors: [], ...(current ? { created: true } : {}) });
    else if (current) res.status(200).json({ id: result.id, success: true, errors: [], created: false });
    else res.status(204).end();
  });

  // ---- sObject Collections
  const upsertOne = (
    object: ObjectDefinition,
    field: string,
    value: string,
    values: SObjectRecord,
    userId: string,
  ): SaveResult => {
    const matches = store.findBy(object.name, field, value);
    if (matches.length > 1) {
      return failed([
        {
          statusCode: 'DUPLICATE_EXTERNAL_ID',
          message: `${field}: more than one record found for external id field: [${matches.map((m) => String(m.Id)).join(', ')}]`,
          fields: [field],
        },
      ]);
    }
    const existingId = matches[0]?.Id as string | undefined;
    if (controls.takeLockFault()) return failed([lockError(existingId ?? null)]);
    const { [field]: _ignored, ...rest } = values;
    try {
      if (existingId) {
        store.update(object.name, existingId, rest, userId);
        return { id: existingId, success: true, errors: [], created: false };
      }
      const record = store.insert(object.name, { ...rest, [field]: value }, userId);
      return { id: record.Id as string, success: true, errors: [], created: true };
    } catch (error) {
      if (error instanceof RecordWriteError) return failed(error.errors);
      throw error;
    }
  };

  /**
   * Runs one collection request: validates the envelope (400 like Salesforce), then each record
   * through `save`; with allOrNone every write is rolled back when one record fails.
   */
  const runCollection = (
    req: Request,
    res: Response,
    typeOf: (record: SObjectRecord) => ObjectDefinition | undefined,
    allowedKeys: string[],
    save: (record: SObjectRecord, object: ObjectDefinition, userId: string) => SaveResult,
    preflight?: (records: SObjectRecord[]) => Map<number, SaveResult>,
  ): void => {
    const body = (req.body ?? {}) as { allOrNone?: unknown; records?: unknown };
    if (!Array.isArray(body.records))
      return apiErrors(res, 400, [
        { errorCode: 'JSON_PARSER_ERROR', message: 'records: a JSON array is required' },
      ]);
    const records = body.records as SObjectRecord[];
    if (records.length > MAX_COLLECTION_RECORDS) {
      return apiErrors(res, 400, [
        {
          errorCode: 'EXCEEDED_ID_LIMIT',
          message: `record limit reached. cannot submit more than ${MAX_COLLECTION_RECORDS} records into this call`,
        },
      ]);
    }
    const objects: ObjectDefinition[] = [];
    for (const record of records) {
      const object = typeOf(record);
      if (!object)
        return apiErrors(res, 400, [
          {
            errorCode: 'INVALID_TYPE',
            message: 'Each record needs attributes.type naming a supported sObject type',
          },
        ]);
      const invalid = unknownFieldError(object, record, allowedKeys);
      if (invalid) return apiErrors(res, 400, [invalid]);
      objects.push(object);
    }
    const userId = userOf(res).id;
    const early = preflight?.(records) ?? new Map<number, SaveResult>();
    const saveAll = (): SaveResult[] =>
      records.map((record, i) => early.get(i) ?? save(record, objects[i], userId));
    if (body.allOrNone !== true) {
      res.json(saveAll());
      return;
    }
    const rollback = new Error('rollback');
    let results: SaveResult[] = [];
    try {
      store.transaction(() => {
        results = saveAll();
        if (results.some((r) => !r.success)) throw rollback;
      });
    } catch (error) {
      if (error !== rollback) throw error;
      results = results.map((r) =>
        r.success
          ? failed([
              {
                statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
                message:
                  'Record rolled back because not all records were valid and the request was using AllOrNone header',
                fields: [],
              },
            ])
          : failed(r.errors),
      );
    }
    res.json(results);
  };

  const typeFromAttributes = (record: SObjectRecord): ObjectDefinition | undefined => {
    const type = (record.attributes as { type?: unknown } | undefined)?.type;
    return typeof type === 'string' ? store.schema.object(type) : undefined;
  };

  api.post('/composite/sobjects', (req, res) => {
    runCollection(req, res, typeFromAttributes, [], (record, object, userId) => {
      if (controls.takeLockFault()) return failed([lockError(null)]);
      try {
        const saved = store.insert(object.name, record, userId);
        return { id: saved.Id as string, success: true, errors: [] };
      } catch (error) {
        if (error instanceof RecordWriteError) return failed(error.errors);
        throw error;
      }
    });
  });

  api.patch('/composite/sobjects', (req, res) => {
    runCollection(req, res, typeFromAttributes, ['id'], (record, object, userId) => {
      const { id: lowerId, Id: upperId, ...values } = record;
      const id = (lowerId ?? upperId) as string | undefined;
      if (typeof id !== 'string' || id === '')
        return failed([
          { statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] },
        ]);
      if (controls.takeLockFault()) return failed([lockError(toId18(id) ?? id)]);
      try {
        store.update(object.name, id, values, userId);
        return { id: toId18(id) ?? id, success: true, errors: [] };
      } catch (error) {
        if (error instanceof RecordWriteError) return failed(error.errors);
        throw error;
      }
    });
  });

  api.patch('/composite/sobjects/:type/:field', (req, res) => {
    const object = objectOf(req, res);
    if (!object) return;
    const field = externalIdField(object, req.params.field as string, res);
    if (!field) return;
    const key = store.schema.field(object.name, field)!;
    const normalize = (value: unknown): string =>
      key.caseSensitive ? String(value) : String(value).toLowerCase();
    runCollection(
      req,
      res,
      (record) => (typeFromAttributes(record)?.name === object.name ? object : undefined),
      [],
      (record, _object, userId) => upsertOne(object, field, String(record[field]), record, userId),
      (records) => {
        // Salesforce rejects every record whose external id appears twice in one request.
        const early = new Map<number, SaveResult>();
        const counts = new Map<string, number>();
        for (const record of records) {
          const value = record[field];
          if (value !== undefined && value !== null && value !== '')
            counts.set(normalize(value), (counts.get(normalize(value)) ?? 0) + 1);
        }
        records.forEach((record, i) => {
          const value = record[field];
          if (value === undefined || value === null || value === '') {
            early.set(
              i,
              failed([
                { statusCode: 'MISSING_ARGUMENT', message: `${field} not specified`, fields: [field] },
              ]),
            );
          } else if ((counts.get(normalize(value)) ?? 0) > 1) {
            early.set(
              i,
              failed([
                {
                  statusCode: 'DUPLICATE_EXTERNAL_ID',
                  message: `Duplicate external id specified: ${String(value)}`,
                  fields: [field],
                },
              ]),
            );
          }
        });
        return early;
      },
    );
  });

  // Unknown routes inside the API and malformed JSON bodies, in Salesforce's error shape.
  api.use((_req: Request, res: Response) => {
    apiErrors(res, 404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if ((error as { type?: string }).type === 'entity.parse.failed') {
      apiErrors(res, 400, [
        {
          errorCode: 'JSON_PARSER_ERROR',
          message: `Unexpected character in JSON: ${(error as Error).message}`,
        },
      ]);
      return;
    }
    logger?.error({ err: error }, 'sandbox request failed');
    apiErrors(res, 500, [
      {
        errorCode: 'UNKNOWN_EXCEPTION',
        message: 'An unexpected error occurred. Please include this ErrorId if you contact support.',
      },
    ]);
  });
  return app;
}

function toApiError(error: SalesforceError): ApiError {
  return { errorCode: error.statusCode, message: error.message, fields: error.fields };
}

function publicUser(user: SandboxUser): { id: string; username: string; name: string; email: string } {
  return { id: user.id, username: user.username, name: user.name, email: user.email };
}

// ---- the runnable sandbox ------------------------------------------------------------------------

export interface SalesforceRestSandboxOptions {
  /** Share a store with the Pub/Sub half; by default a fresh one seeded with the users. */
  store?: RecordStore;
  users?: UserDirectory;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Serve over HTTPS with the sandbox CA's certificate (127.0.0.1 / localhost); default plain HTTP. */
  https?: boolean;
  tokenTtlMs?: number;
  apiLimit?: number;
  faults?: Partial<SandboxFaults>;
  logger?: Logger;
}

export interface SalesforceRestSandbox {
  /** Login URL and instance URL alike, e.g. http://127.0.0.1:43123 (https://… with `https: true`). */
  readonly url: string;
  readonly store: RecordStore;
  readonly users: UserDirectory;
  readonly integrationUser: SandboxUser;
  /** What the relay's config needs to connect as the integration user. */
  readonly relayCredentials: { loginUrl: string; clientId: string; clientSecret: string };
  readonly controls: SandboxControls;
  counters(): SandboxCounters;
  /** The REST requests received since the last resetCounters, with their JSON bodies. */
  requests(): SandboxRequestLogEntry[];
  resetCounters(): void;
  setFaults(faults: Partial<SandboxFaults>): SandboxFaults;
  clearFaults(): void;
  /** Every issued token stops working; clients must re-authorize. */
  expireSessions(): void;
  /** The org id (the Pub/Sub API's tenantid header carries it). */
  readonly organizationId: string;
  /** The user behind a live access token, for other sandbox servers (Pub/Sub) that take the same tokens. */
  sessionUser(accessToken: string): SandboxUser | undefined;
  close(): Promise<void>;
}

export async function createSalesforceRestSandbox(
  options: SalesforceRestSandboxOptions = {},
): Promise<SalesforceRestSandbox> {
  const users = options.users ?? createUserDirectory();
  const store = options.store ?? createRecordStore({ users: users.users });
  const auth = createSandboxAuth(users, { tokenTtlMs: options.tokenTtlMs });
  const controls = createSandboxControls({ apiLimit: options.apiLimit, faults: options.faults });
  // Validation rules run on every save, as the org's own do, whatever API made it.
  store.onBeforeSave((change) => {
    const violation = controls.checkValidationRules(change);
    if (violation !== null) throw new RecordWriteError([violation]);
  });
  const app = createSalesforceRestApp({ store, users, auth, controls, logger: options.logger });
  const tls = options.https ? await sandboxTls() : undefined;
  const server = tls
    ? https.createServer({ key: tls.keyPem, cert: tls.certPem }, app)
    : http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `${tls ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const relayApp = users.apps.find((a) => a.runAsUsername === users.integrationUser.username);
  if (!relayApp) throw new Error('No connected app runs as the integration user');
  return {
    url,
    store,
    users,
    integrationUser: users.integrationUser,
    relayCredentials: { loginUrl: url, clientId: relayApp.clientId, clientSecret: relayApp.clientSecret },
    controls,
    counters: () => controls.counters(),
    requests: () => controls.requests(),
    resetCounters: () => controls.resetCounters(),
    setFaults: (faults) => controls.setFaults(faults),
    clearFaults: () => controls.clearFaults(),
    expireSessions: () => auth.expireAll(),
    organizationId: SANDBOX_ORG_ID,
    sessionUser: (accessToken) => auth.session(`Bearer ${accessToken}`)?.user,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
