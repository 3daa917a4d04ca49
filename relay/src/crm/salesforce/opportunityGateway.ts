import type { Connection } from 'jsforce';
import type { BreakerVerdict, CircuitBreaker } from '../../breaker.ts';
import type { Logger } from '../../logger.ts';
import { RelayError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';
import { mergeAuditTrails } from '../../sync/audit.ts';
import { isObject } from '../../sync/diff.ts';
import { createBatcher } from './batcher.ts';
import type { BatchEntry } from './batcher.ts';
import { chunkInList, soqlIn, soqlLiteral, soqlName } from './soql.ts';
import type {
  DealKey,
  DealRecord,
  DealStore,
  DealWrite,
  PrimaryContact,
  WriteResult,
} from '../crmAdapter.ts';

/**
 * Reads and writes Opportunities in batches. Concurrent callers inside a short window share one
 * SOQL `IN (...)` query or one sObject Collections call (≤ 200 records): API calls are the org's
 * scarce resource. Each caller still gets its own result or error: a bad record fails alone.
 *
 * No retries here: jsforce does not retry POST/PATCH, and the job queue retries whole jobs using
 * `RelayError.retryable`. Writing a job's values again is harmless: creates are upserts keyed on
 * the referral id, updates set the same values by Id.
 */

export const REFERRAL_ID_FIELD = 'Referral_Identifier__c';
/** Audit lines for the record; the package's trigger moves them to the top of Audit__c. */
export const AUDIT_ENTRY_FIELD = 'Audit_Entry__c';
/** The package's count of relay writes to the record, kept by its trigger. */
export const WRITE_COUNT_FIELD = 'Relay_Write_Count__c';
/** sObject Collections accept at most 200 records per call. */
export const MAX_COLLECTION_RECORDS = 200;
/**
 * SOQL travels in a GET URL. Percent-encoding roughly doubles quotes, commas and spaces, so 8,000
 * characters of SOQL keep the URL well under the ~16 KB that proxies and the REST API accept.
 */
const MAX_SOQL_LENGTH = 8000;

export type OpportunityRecord = DealRecord;

export interface OpportunityWrite extends DealWrite {
  Id?: string;
  Referral_Identifier__c?: string;
}

/** The Salesforce deal store: Opportunities read and written in batches (the port's DealStore). */
export type OpportunityGateway = DealStore;

export interface OpportunityGatewayOptions {
  connection: Connection;
  /** How long a batch waits for the next caller (quiet period); small next to a job's latency budget. */
  windowMs?: number;
  /** Longest a call waits while a burst keeps its batch filling (default 10 × windowMs). */
  maxWaitMs?: number;
  /**
   * Quiet period for `write(record, { deferred: true })`: write-backs that are off the latency path
   * (the referral is already written) wait longer for company, so a burst costs a few calls.
   */
  deferredWindowMs?: number;
  maxBatch?: number;
  /** Every call to the org goes through it, so an API-limit outage stops them all (breaker.ts). */
  breaker?: Pick<CircuitBreaker, 'run'>;
  logger: Logger;
}

// ---- error mapping ------------------------------------------------------------------------------

const RETRYABLE: Readonly<Record<string, ErrorCode>> = {
  UNABLE_TO_LOCK_ROW: 'SF_LOCKED',
  REQUEST_LIMIT_EXCEEDED: 'SF_LIMIT_EXCEEDED',
  UNKNOWN_EXCEPTION: 'SF_ERROR',
  SERVER_UNAVAILABLE: 'SF_ERROR',
  ALL_OR_NONE_OPERATION_ROLLED_BACK: 'SF_ERROR',
};
const FIELD_CODES = new Set(['INVALID_FIELD', 'INVALID_FIELD_FOR_INSERT_UPDATE', 'NO_SUCH_COLUMN']);
const RECORD_CODES = new Set([
  'STRING_TOO_LONG',
  'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
  'INVALID_TYPE_ON_FIELD_IN_RECORD',
  'REQUIRED_FIELD_MISSING',
  'DUPLICATE_VALUE',
  'DUPLICATE_EXTERNAL_ID',
  'FIELD_CUSTOM_VALIDATION_EXCEPTION',
  'FIELD_INTEGRITY_EXCEPTION',
  'ENTITY_IS_DELETED',
  'INVALID_CROSS_REFERENCE_KEY',
  'MALFORMED_ID',
  'INVALID_EMAIL_ADDRESS',
  'INVALID_ID_FIELD',
  'MISSING_ARGUMENT',
]);

interface SaveError {
  statusCode?: string;
  errorCode?: string;
  message?: string;
  fields?: string[];
}

/** Maps one Salesforce error code to a RelayError; `subject` names the record for the message. */
function salesforceError(
  code: string,
  message: string,
  fields: string[],
  subject: string,
  cause?: unknown,
): RelayError {
  const fieldText = fields.length > 0 ? ` (${fields.join(', ')})` : '';
  const text = `${subject}: ${code}${fieldText}: ${message}`;
  const details = { statusCode: code, fields };
  if (RETRYABLE[code]) return new RelayError(RETRYABLE[code], text, { cause, retryable: true, details });
  if (FIELD_CODES.has(code))
    return new RelayError('SF_INVALID_FIELD', text, { cause, retryable: false, details });
  if (RECORD_CODES.has(code))
    return new RelayError('SF_RECORD_ERROR', text, { cause, retryable: false, details });
  return new RelayError('SF_ERROR', text, { cause, retryable: false, details });
}

/** A thrown jsforce error (HttpApiError, network failure, failed refresh) as a RelayError. */
export function toRelayError(error: unknown, subject: string): RelayError {
  if (error instanceof RelayError) return error;
  const e = error as {
    errorCode?: unknown;
    message?: unknown;
    data?: unknown;
    name?: unknown;
    code?: unknown;
  };
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const code = typeof e?.errorCode === 'string' ? e.errorCode : undefined;
  if (code === 'MULTIPLE_API_ERRORS' && Array.isArray(e.data) && e.data.length > 0) {
    const first = e.data[0] as SaveError;
    return salesforceError(
      first.errorCode ?? first.statusCode ?? 'UNKNOWN',
      first.message ?? message,
      first.fields ?? [],
      subject,
      error,
    );
  }
  if (code && !code.startsWith('ERROR_HTTP_')) {
    const fields = (e.data as SaveError | undefined)?.fields ?? [];
    return salesforceError(code, message, Array.isArray(fields) ? fields : [], subject, error);
  }
  if (/Unable to refresh session/i.test(message)) {
    // The token endpoint may be down for a moment; a persistent failure shows up as repeated attempts.
    return new RelayError('AUTH_FAILED', `${subject}: ${message}`, { cause: error, retryable: true });
  }
  const status = code ? Number(code.slice('ERROR_HTTP_'.length)) : undefined;
  // No Salesforce error code: a network failure or an unparseable 5xx, both worth another attempt.
  const retryable = status === undefined || status >= 500 || status === 429;
  return new RelayError('SF_ERROR', `${subject}: ${message}`, { cause: error, retryable, status });
}

/**
 * The breaker's verdict on a Salesforce failure: REQUEST_LIMIT_EXCEEDED means the org's API
 * allocation is spent for every caller. Salesforce says nothing about when its rolling window frees
 * calls again, so the breaker probes with backoff; the usage figure goes into the reason.
 */
export function salesforceLimitVerdict(error: unknown, connection?: Connection): BreakerVerdict {
  if (toRelayError(error, 'Salesforce').code !== 'SF_LIMIT_EXCEEDED') return null;
  const usage = connection?.limitInfo?.apiUsage;
  return { reason: `REQUEST_LIMIT_EXCEEDED${usage ? ` (api-usage ${usage.used}/${usage.limit})` : ''}` };
}

const KEY_FIELDS: Readonly<Record<DealKey, string>> = { id: 'Id', referralId: REFERRAL_ID_FIELD };

// ---- helpers --------------------------------------------------------------------------------------

/** Ids compare on their case-sensitive 15-character form; the external id is case-insensitive. */
function normalizeKey(by: string, key: string): string {
  return by === 'Id' ? key.slice(0, 15) : key.toLowerCase();
}

function stripAttributes(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record)) {
    if (name === 'attributes') continue;
    out[name] = isObject(value) ? stripAttributes(value) : value;
  }
  return out;
}

function describeWrite(record: OpportunityWrite): string {
  return record.Id
    ? `Opportunity ${record.Id}`
    : `Opportunity with ${REFERRAL_ID_FIELD} ${String(record[REFERRAL_ID_FIELD])}`;
}

type ReadItem = string;
type ReadResult = Record<string, unknown> | undefined;

export function createOpportunityGateway(options: OpportunityGatewayOptions): OpportunityGateway {
  const conn = options.connection;
  const logger = options.logger.child({ module: 'salesforce.gateway' });
  const guarded = <T>(call: () => Promise<T>): Promise<T> =>
    options.breaker ? options.breaker.run(call) : call();
  const windowMs = options.windowMs ?? 15;
  const maxWaitMs = options.maxWaitMs ?? Math.max(200, windowMs * 10);
  const deferredWindowMs = options.deferredWindowMs ?? 250;
  const maxBatch = Math.min(options.maxBatch ?? MAX_COLLECTION_RECORDS, MAX_COLLECTION_RECORDS);
  const calls: Record<string, number> = {};
  let recordsRead = 0;
  let recordsWritten = 0;
  const countCall = (kind: string): void => {
    calls[kind] = (calls[kind] ?? 0) + 1;
  };

  const query = async (kind: string, soql: string): Promise<Array<Record<string, unknown>>> => {
    countCall(kind);
    const started = Date.now();
    const result = await guarded(async () =>
      conn.query<Record<string, unknown>>(soql, { autoFetch: true, maxFetch: 100_000 }),
    );
    logger.debug({ kind, records: result.records.length, ms: Date.now() - started }, 'salesforce query');
    recordsRead += result.records.length;
    return result.records.map(stripAttributes);
  };

  /**
   * Runs one IN query per chunk of keys and settles each entry with the record whose `keyField`
   * matches it. `render` builds the SOQL around an IN list.
   */
  const runKeyedQuery = async (
    kind: string,
    entries: Array<BatchEntry<ReadItem, ReadResult>>,
    keyField: string,
    keyOf: (record: Record<string, unknown>) => unknown,
    render: (keys: string[]) => string,
  ): Promise<void> => {
    const byKey = new Map(entries.map((e) => [e.key, e]));
    const chunks = chunkInList(
      entries.map((e) => e.item),
      MAX_COLLECTION_RECORDS,
      MAX_SOQL_LENGTH,
      render,
    );
    await Promise.all(
      chunks.map(async (chunk) => {
        try {
          const records = await query(kind, render(chunk));
          for (const record of records) {
            const value = keyOf(record);
            if (typeof value === 'string') byKey.get(normalizeKey(keyField, value))?.resolve(record);
          }
          for (const key of chunk) byKey.get(normalizeKey(keyField, key))?.resolve(undefined);
        } catch (error) {
          const relayError = toRelayError(error, `${kind} query`);
          for (const key of chunk) byKey.get(normalizeKey(keyField, key))?.reject(relayError);
        }
      }),
    );
  };

  // Group names carry what the flush needs: `opportunities|<by>|<fields>` or `contacts`.
  const reads = createBatcher<ReadItem, ReadResult>({
    windowMs,
    maxWaitMs,
    // Reads sit on the latency path, so only a burst or a stream (10 reads within 100 ms, far
    // above one seller's pace) waits longer for company.
    burstSize: 10,
    burstWindowMs: Math.max(windowMs, 100),
    maxBatch: MAX_COLLECTION_RECORDS,
    flush: async (group, entries) => {
      if (group === 'contacts') {
        await runKeyedQuery(
          'query.contacts',
          entries,
          'Id',
          (r) => r.OpportunityId,
          (ids) =>
            `SELECT OpportunityId, Contact.FirstName, Contact.LastName, Contact.Email, Contact.Phone FROM OpportunityContactRole WHERE IsPrimary = true AND ${soqlIn('OpportunityId', ids)}`,
        );
        return;
      }
      const [, by, fieldList] = group.split('|');
      await runKeyedQuery(
        'query.opportunities',
        entries,
        by,
        (r) => r[by],
        (keys) => `SELECT ${fieldList} FROM Opportunity WHERE ${soqlIn(by, keys)}`,
      );
    },
  });

  const writeGroup = async (
    group: string,
    entries: Array<BatchEntry<OpportunityWrite, WriteResult>>,
  ): Promise<void> => {
    const records = entries.map((e) => e.item);
    const kind = group === 'update' ? 'collections.update' : 'collections.upsert';
    countCall(kind);
    const started = Date.now();
    let results: SaveResultLike[];
    try {
      const sobject = conn.sobject('Opportunity');
      const response = await guarded(async () =>
        group === 'update'
          ? sobject.update(records as Array<{ Id: string }>, { allOrNone: false })
          : sobject.upsert(records, REFERRAL_ID_FIELD, { allOrNone: false }),
      );
      results = response as unknown as SaveResultLike[];
    } catch (error) {
      rejectWholeBatch(error, entries);
      return;
    }
    logger.debug({ kind, records: records.length, ms: Date.now() - started }, 'salesforce collection call');
    entries.forEach((entry, i) => {
      const result = results[i];
      if (result?.success && result.id) {
        recordsWritten += 1;
        entry.resolve({ id: result.id, created: result.created === true });
        return;
      }
      const first: SaveError = result?.errors?.[0] ?? {
        statusCode: 'UNKNOWN_EXCEPTION',
        message: 'no result returned for this record',
      };
      const error = salesforceError(
        first.statusCode ?? first.errorCode ?? 'UNKNOWN_EXCEPTION',
        first.message ?? '',
        first.fields ?? [],
        describeWrite(entry.item),
      );
      logger.warn(
        {
          opportunityId: entry.item.Id,
          referralId: entry.item[REFERRAL_ID_FIELD],
          code: error.code,
          statusCode: first.statusCode,
        },
        'salesforce record write failed',
      );
      entry.reject(error);
    });
  };

  /**
   * A whole-request failure. An unknown field fails Salesforce's deserializer for the entire
   * call; only the records that carry that field are at fault, so the others get a retryable error
   * and go through on their next attempt.
   */
  const rejectWholeBatch = (
    error: unknown,
    entries: Array<BatchEntry<OpportunityWrite, WriteResult>>,
  ): void => {
    const code = (error as { errorCode?: unknown }).errorCode;
    const unknownField =
      code === 'INVALID_FIELD'
        ? /No such column '([^']+)'/.exec(String((error as Error).message))?.[1]
        : undefined;
    for (const entry of entries) {
      const subject = describeWrite(entry.item);
      if (unknownField) {
        const carriesField = Object.keys(entry.item).some(
          (name) => name.toLowerCase() === unknownField.toLowerCase(),
        );
        entry.reject(
          carriesField
            ? toRelayError(error, subject)
            : new RelayError(
                'SF_ERROR',
                `${subject}: not written because another record in its batch named the unknown field ${unknownField}`,
                {
                  cause: error,
                  retryable: true,
                },
              ),
        );
      } else {
        entry.reject(toRelayError(error, subject));
      }
    }
    logger.warn({ code, records: entries.length }, 'salesforce collection call failed');
  };

  // Two writes to one record inside a window become one: later values win, and both audit entries stay.
  const mergeWrites = (earlier: OpportunityWrite, later: OpportunityWrite): OpportunityWrite => {
    const merged = { ...earlier, ...later };
    const [a, b] = [earlier[AUDIT_ENTRY_FIELD], later[AUDIT_ENTRY_FIELD]];
    if (typeof a === 'string' && typeof b === 'string') merged[AUDIT_ENTRY_FIELD] = mergeAuditTrails(b, a);
    return merged;
  };
  const writes = createBatcher<OpportunityWrite, WriteResult>({
    windowMs,
    maxWaitMs,
    maxBatch,
    flush: writeGroup,
    merge: mergeWrites,
  });
  const deferredWrites = createBatcher<OpportunityWrite, WriteResult>({
    windowMs: deferredWindowMs,
    maxWaitMs: deferredWindowMs * 4,
    maxBatch,
    flush: writeGroup,
    merge: mergeWrites,
  });

  const accountsInFlight = new Map<string, Promise<string>>();

  return {
    readDeals: async (key: DealKey, keys, fields) => {
      const by = KEY_FIELDS[key];
      if (by === undefined)
        throw new RelayError(
          'VALIDATION_FAILED',
          `Opportunities can be read by id or referralId, not ${String(key)}`,
        );
      // The key field and Id are always selected so results can be matched and written back.
      const selected = [...new Set(['Id', by, ...fields.map(soqlName)])].sort();
      const group = `opportunities|${by}|${selected.join(', ')}`;
      const unique = [...new Set(keys)];
      const results = await Promise.all(unique.map((key) => reads.add(group, normalizeKey(by, key), key)));
      const map = new Map<string, OpportunityRecord>();
      unique.forEach((key, i) => {
        if (results[i]) map.set(key, results[i]);
      });
      return map;
    },

    readPrimaryContacts: async (opportunityIds) => {
      const unique = [...new Set(opportunityIds)];
      const results = await Promise.all(
        unique.map((id) => reads.add('contacts', normalizeKey('Id', id), id)),
      );
      const map = new Map<string, PrimaryContact>();
      unique.forEach((id, i) => {
        const contact = results[i]?.Contact as Record<string, unknown> | null | undefined;
        if (!contact) return;
        const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
        map.set(id, {
          firstName: text(contact.FirstName),
          lastName: text(contact.LastName),
          email: text(contact.Email),
          phone: text(contact.Phone),
        });
      });
      return map;
    },

    write: (record, writeOptions) => {
      const id = record.Id;
      const referralId = record[REFERRAL_ID_FIELD];
      if (typeof id === 'string' && id !== '')
        return (writeOptions?.deferred ? deferredWrites : writes).add('update', normalizeKey('Id', id), {
          ...record,
        });
      if (typeof referralId === 'string' && referralId !== '') {
        // Upserting on the referral id is what keeps a duplicate delivery from creating a second Opportunity.
        const { Id: _ignored, ...rest } = record;
        return writes.add('upsert', normalizeKey(REFERRAL_ID_FIELD, referralId), rest);
      }
      return Promise.reject(
        new RelayError('VALIDATION_FAILED', `An Opportunity write needs Id or ${REFERRAL_ID_FIELD}`, {
          retryable: false,
        }),
      );
    },

    findOrCreateAccount: (account) => {
      const key = `${account.name.toLowerCase()}|${(account.postalCode ?? '').toLowerCase()}`;
      const existing = accountsInFlight.get(key);
      if (existing) return existing;
      const subject = `Account ${account.name} (${account.postalCode ?? 'no postal code'})`;
      // Concurrent callers for one customer share the lookup, so they cannot create it twice.
      const pending = (async () => {
        try {
          const found = await query(
            'query.accounts',
            `SELECT Id FROM Account WHERE Name = ${soqlLiteral(account.name)} AND BillingPostalCode = ${soqlLiteral(account.postalCode)} ORDER BY CreatedDate ASC LIMIT 1`,
          );
          if (found[0] && typeof found[0].Id === 'string') return found[0].Id;
          countCall('create.account');
          const created = await guarded(async () =>
            conn.sobject('Account').create({
              Name: account.name,
              BillingPostalCode: account.postalCode,
              BillingStreet: account.street ?? null,
              BillingCity: account.city ?? null,
              BillingState: account.state ?? null,
              BillingCountry: account.country ?? null,
            }),
          );
          if (!created.success || !created.id)
            throw new RelayError('SF_RECORD_ERROR', `${subject}: not created`, {
              details: { errors: created.errors },
            });
          logger.info({ accountId: created.id }, 'salesforce account created');
          return created.id;
        } catch (error) {
          throw toRelayError(error, subject);
        } finally {
          accountsInFlight.delete(key);
        }
      })();
      accountsInFlight.set(key, pending);
      return pending;
    },

    stats: () => ({
      calls: { ...calls },
      totalCalls: Object.values(calls).reduce((sum, n) => sum + n, 0),
      recordsRead,
      recordsWritten,
    }),

    flush: async () => {
      await Promise.all([reads.drain(), writes.drain(), deferredWrites.drain()]);
    },
  };
}

interface SaveResultLike {
  id?: string | null;
  success: boolean;
  created?: boolean;
  errors?: SaveError[];
}
