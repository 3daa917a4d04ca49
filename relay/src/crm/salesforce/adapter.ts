/**
 * Salesforce behind the CRM port (crm/crmAdapter.ts): the lazily signed-in session and its batched
 * Opportunity gateway, the Pub/Sub change feed of Referral_Sync__e events, the reconcile's SOQL,
 * the org's describe and the meaning of Salesforce's error codes.
 */
import type { QueryResult } from 'jsforce';
import { isRelayError } from '../../errors.ts';
import { isObject } from '../../sync/index.ts';
import type {
  ChangeFeed,
  ChangeFeedHandlers,
  CrmAdapter,
  CrmErrorClass,
  DealChange,
  DealRecord,
  RelayFieldNames,
} from '../crmAdapter.ts';
import { describeOpportunityFields } from './describe.ts';
import { createSalesforceSession } from './lazyGateway.ts';
import type { SalesforceSession, SalesforceSessionOptions } from './lazyGateway.ts';
import {
  AUDIT_ENTRY_FIELD,
  REFERRAL_ID_FIELD,
  salesforceLimitVerdict,
  WRITE_COUNT_FIELD,
} from './opportunityGateway.ts';
import { createPubSubSubscriber } from './pubsubSubscriber.ts';
import type { ReferralSyncEventPayload } from './pubsubSubscriber.ts';

/** The package's fields (force-app/main/default/objects/Opportunity) and the standard ones the relay reads. */
export const SALESFORCE_FIELDS: RelayFieldNames = {
  id: 'Id',
  referralId: REFERRAL_ID_FIELD,
  referralLink: 'Referral_Link__c',
  referralStatus: 'Referral_Status__c',
  referralSubstatus: 'Referral_Substatus__c',
  syncFlag: 'Sync_with_Partner_Center__c',
  syncStatus: 'Referral_Sync_Status__c',
  helpRequest: 'How_can_Microsoft_help__c',
  writeCount: WRITE_COUNT_FIELD,
  auditEntry: AUDIT_ENTRY_FIELD,
  version: 'SystemModstamp',
  accountId: 'AccountId',
  account: 'Account',
  won: 'IsWon',
  closed: 'IsClosed',
};

/**
 * Salesforce codes the gateway reports as plain SF_ERROR that still say the record itself is
 * refused: a duplicate rule, a number the field cannot hold, a lookup filter.
 */
const PERMANENT_STATUS_CODES = new Set([
  'DUPLICATES_DETECTED',
  'NUMBER_OUTSIDE_VALID_RANGE',
  'FIELD_FILTER_VALIDATION_EXCEPTION',
  'FIELD_CUSTOM_VALIDATION_EXCEPTION',
  'REQUIRED_FIELD_MISSING',
  'STRING_TOO_LONG',
  'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
]);

/** The port's kind of a Salesforce failure (the codes opportunityGateway.ts's toRelayError gives). */
export function classifySalesforceError(error: unknown): CrmErrorClass | null {
  if (!isRelayError(error)) return null;
  switch (error.code) {
    case 'SF_LOCKED':
      return { kind: 'locked', permanent: false };
    case 'SF_LIMIT_EXCEEDED':
      return { kind: 'limit', permanent: false };
    case 'AUTH_FAILED':
      return { kind: 'auth', permanent: false };
    case 'SF_INVALID_FIELD':
      return { kind: 'invalid-field', permanent: !error.retryable };
    case 'SF_RECORD_ERROR':
      return { kind: 'record', permanent: !error.retryable };
    case 'SF_ERROR': {
      const statusCode = error.details?.statusCode;
      return typeof statusCode === 'string' && PERMANENT_STATUS_CODES.has(statusCode) && !error.retryable
        ? { kind: 'record', permanent: true }
        : { kind: 'unavailable', permanent: false };
    }
    default:
      return null;
  }
}

/**
 * One Referral_Sync__e as a deal change. A snapshot that is not a JSON object is left out (the job
 * then queries the record), never a reason to drop the event.
 */
export function dealChangeOf(event: ReferralSyncEventPayload): DealChange {
  let snapshot: DealRecord | undefined;
  if (typeof event.Record_Snapshot__c === 'string') {
    try {
      const parsed: unknown = JSON.parse(event.Record_Snapshot__c);
      if (isObject(parsed)) snapshot = parsed;
    } catch {
      snapshot = undefined;
    }
  }
  return {
    dealId: event.Opportunity_Id__c,
    changeKind: event.Change_Kind__c ?? undefined,
    changedFields: typeof event.Changed_Fields__c === 'string' ? event.Changed_Fields__c.split(',') : [],
    ...(snapshot ? { snapshot } : {}),
    ...(typeof event.CreatedDate === 'number' ? { changedAt: event.CreatedDate } : {}),
  };
}

export interface SalesforceAdapterOptions extends SalesforceSessionOptions {
  pubsub: {
    endpoint: string;
    topic: string;
    tls: boolean;
    caPem?: string;
    batchSize: number;
    replayOnCorrupt: 'EARLIEST' | 'LATEST';
  };
}

export interface SalesforceAdapter extends CrmAdapter {
  /** The session itself, for what only Salesforce has (the bench reads its call count). */
  readonly session: SalesforceSession;
}

export function createSalesforceAdapter(options: SalesforceAdapterOptions): SalesforceAdapter {
  const { logger } = options;
  const session = createSalesforceSession({ ...options, logger: logger.child({ module: 'salesforce' }) });
  const guarded = <T>(call: () => Promise<T>): Promise<T> =>
    options.breaker ? options.breaker.run(call) : call();

  const openChangeFeed = (handlers: ChangeFeedHandlers): ChangeFeed => {
    const subscriber = createPubSubSubscriber({
      ...options.pubsub,
      getAuth: async () => {
        const c = await session.connect();
        return {
          accessToken: c.connection.accessToken as string,
          instanceUrl: c.connection.instanceUrl,
          tenantId: c.organizationId,
        };
      },
      refreshAuth: async () => {
        await (await session.connect()).reauthorize();
      },
      loadReplayId: () => handlers.loadCheckpoint(),
      onBatch: (events, replayId, undecodable = []) =>
        handlers.onBatch(
          events.map((event) => dealChangeOf(event.payload)),
          replayId,
          undecodable.map((event) => ({ ...event, position: event.replayId })),
        ),
      onReplayReset: (preset) => handlers.onCheckpointLost(preset),
      backoff: { initialMs: 500, maxMs: 30_000 },
      logger: logger.child({ module: 'pubsub' }),
    });
    return {
      start: () => subscriber.start(),
      stop: () => subscriber.stop(),
      status: () => {
        const stats = subscriber.stats();
        return { ...stats, lastPosition: stats.lastReplayId };
      },
      decode: async (schemaId, payload) => dealChangeOf(await subscriber.decodeEvent(schemaId, payload)),
    };
  };

  return {
    name: 'salesforce',
    fields: SALESFORCE_FIELDS,
    deals: session.gateway,
    session,
    async listChangedDeals(since) {
      const conn = (await session.connect()).connection;
      const where = [`${SALESFORCE_FIELDS.syncFlag} = true`];
      if (since) where.push(`LastModifiedDate >= ${since.toISOString().replace(/\.\d{3}Z$/, 'Z')}`);
      // Page by page through nextRecordsUrl, with no cap: jsforce's autoFetch stops silently at its
      // maxFetch, and a reconcile stopped there would never look at the records past it.
      const ids: string[] = [];
      let page: QueryResult<{ Id: string }> = await guarded(async () =>
        conn.query<{ Id: string }>(`SELECT Id FROM Opportunity WHERE ${where.join(' AND ')}`),
      );
      for (;;) {
        ids.push(...page.records.map((r) => r.Id));
        const next = page.nextRecordsUrl;
        if (page.done || next === undefined) return ids;
        page = await guarded(async () => conn.queryMore<{ Id: string }>(next));
      }
    },
    describeDealFields: async () => describeOpportunityFields((await session.connect()).connection),
    classifyError: classifySalesforceError,
    limitVerdict: (error) => salesforceLimitVerdict(error, session.current()?.connection),
    openChangeFeed,
    connect: async () => {
      await session.connect();
    },
    health() {
      const current = session.current();
      const usage = current?.limitInfo();
      return {
        ok: current !== null,
        ...(current ? {} : { detail: session.lastError() ?? 'not logged in yet' }),
        apiCalls: current?.apiCalls() ?? 0,
        apiUsage: usage ? { used: usage.used, limit: usage.limit } : null,
      };
    },
    recordUrl(id) {
      const instance = session.current()?.connection.instanceUrl;
      return instance ? `${instance}/lightning/r/Opportunity/${encodeURIComponent(id)}/view` : null;
    },
  };
}
