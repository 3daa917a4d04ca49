/**
 * The CRM port: what the sync jobs, the reconcile and the operations need from a CRM, in terms no
 * CRM owns. A CRM is an adapter behind it (crm/salesforce/adapter.ts today); the jobs import this
 * file, never an adapter (.dependency-cruiser.cjs keeps it so).
 *
 * Records stay keyed by the CRM's own field names, because the mapping file names them: the
 * mapping is per CRM (config/mapping.json for Salesforce). The names the relay itself relies on
 * (its package's fields, the stage flags) come from `fields`, so no job spells a CRM's name.
 */
import type { BreakerVerdict } from '../breaker.ts';
import type { FieldInfo } from '../sync/mappingTypes.ts';

/** A deal (Salesforce Opportunity, Dynamics opportunity) as read: field name → value. */
export type DealRecord = Record<string, unknown>;

/** A write to one deal: by id, or (a create) upserted on the relay's referral id field. */
export type DealWrite = Record<string, unknown>;

export interface WriteResult {
  id: string;
  created: boolean;
}

export interface PrimaryContact {
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  phone: string | null;
}

export interface AccountInput {
  name: string;
  postalCode: string | null;
  street?: string | null;
  city?: string | null;
  state?: string | null;
  country?: string | null;
}

export interface DealStoreStats {
  /** API calls by kind, e.g. `query.opportunities`, `collections.upsert`. */
  calls: Record<string, number>;
  totalCalls: number;
  recordsRead: number;
  recordsWritten: number;
}

/** How a read addresses deals: by the CRM's record id or by the relay's referral id field. */
export type DealKey = 'id' | 'referralId';

export interface DealStore {
  readDeals(
    by: DealKey,
    keys: readonly string[],
    fields: readonly string[],
  ): Promise<Map<string, DealRecord>>;
  readPrimaryContacts(dealIds: readonly string[]): Promise<Map<string, PrimaryContact>>;
  /** `deferred`: the write is off the latency path (a write-back) and may wait longer for company. */
  write(record: DealWrite, options?: { deferred?: boolean }): Promise<WriteResult>;
  findOrCreateAccount(account: AccountInput): Promise<string>;
  stats(): DealStoreStats;
  /** Sends whatever is waiting now and waits for every call in flight (for graceful stop). */
  flush(): Promise<void>;
}

/**
 * The relay-owned names on a deal, by role. The jobs write `syncStatus` as Pending, Synced or
 * Error; an adapter whose CRM stores it otherwise (Dataverse choices are integers) translates in
 * `deals.write`.
 */
export interface RelayFieldNames {
  /** The record id field. */
  readonly id: string;
  /** The referral id the deal is paired with (an external id / alternate key: creates upsert on it). */
  readonly referralId: string;
  readonly referralLink: string;
  readonly referralStatus: string;
  readonly referralSubstatus: string;
  /** The seller's "Sync with Partner Center" flag. */
  readonly syncFlag: string;
  readonly syncStatus: string;
  /** The seller's "How can Microsoft help?" field: a create asks Microsoft for help when it is set. */
  readonly helpRequest: string;
  /** Count of relay writes kept by the CRM side (the write ledger, store/dealWrites.ts). */
  readonly writeCount: string;
  /** New audit lines travel here; the CRM side moves them to the top of the record's trail. */
  readonly auditEntry: string;
  /** The record state's version (optimistic concurrency, jobs/versions.ts). */
  readonly version: string;
  /** The account lookup, and the prefix under which a read returns the account's fields. */
  readonly accountId: string;
  readonly account: string;
  /** Read-only flags the CRM computes from the stage: they decide won / lost before the stage name. */
  readonly won: string;
  readonly closed: string;
}

/**
 * What went wrong in a CRM call, in the port's words, with what a retry can do about it:
 * `locked` and `unavailable` pass with time, `limit` pauses every call (breaker.ts), `auth` passes
 * once someone signs in again, `record` and `invalid-field` need someone to change data or the
 * mapping, so the job ends at once.
 */
export type CrmErrorKind = 'locked' | 'limit' | 'unavailable' | 'auth' | 'record' | 'invalid-field';

export interface CrmErrorClass {
  kind: CrmErrorKind;
  /** True when no later attempt can succeed without a change of data or mapping. */
  permanent: boolean;
}

/** One change of a deal as the CRM's change feed delivers it. */
export interface DealChange {
  dealId: string;
  changeKind?: string;
  changedFields: string[];
  /** The record as saved, when the feed carries one: a job that trusts it needs no read. */
  snapshot?: DealRecord;
  /** When the CRM recorded the change (epoch ms): the snapshot's version. */
  changedAt?: number;
}

/** A change the feed could not decode: kept as a dead letter, decoded again on retry. */
export interface UndecodableChange {
  eventId: string;
  position: Buffer;
  schemaId: string;
  payload: Buffer;
  reason: string;
}

export interface ChangeFeedHandlers {
  /** Where to resume (null: from the feed's default); the value an earlier batch handed over. */
  loadCheckpoint(): Promise<Buffer | null>;
  /** Commits the batch's jobs together with `checkpoint`: a crash keeps both or neither. */
  onBatch(changes: DealChange[], checkpoint: Buffer, undecodable: UndecodableChange[]): Promise<void>;
  /** The saved checkpoint was no longer valid and the feed resumed from `from`: changes may be missed. */
  onCheckpointLost(from: string): Promise<void>;
}

export interface ChangeFeedStatus {
  connected: boolean;
  reconnects: number;
  failures: number;
  received: number;
  lagMs: number | null;
  lastEventAt: number | null;
  lastPosition: string | null;
}

export interface ChangeFeed {
  start(): void;
  stop(): Promise<void>;
  status(): ChangeFeedStatus;
  /** Decodes a kept undecodable change again, with the schema the CRM serves now. */
  decode(schemaId: string, payload: Buffer): Promise<DealChange>;
}

export interface CrmHealth {
  ok: boolean;
  detail?: string;
  /** API calls this relay made to the CRM. */
  apiCalls: number;
  /** The org's own API usage, when the CRM reports it. */
  apiUsage: { used: number; limit: number } | null;
}

export interface CrmAdapter {
  /** For logs, metrics and the dashboard: 'salesforce'. */
  readonly name: string;
  readonly fields: RelayFieldNames;
  readonly deals: DealStore;
  /** Ids of synced deals changed since `since` (all synced deals when null), for the reconcile. */
  listChangedDeals(since: Date | null): Promise<string[]>;
  /** The deal's fields as the live CRM defines them (production fits values to these). */
  describeDealFields(): Promise<FieldInfo[]>;
  classifyError(error: unknown): CrmErrorClass | null;
  /** Whether `error` means the CRM's API limit: the breaker pauses every call to it. */
  limitVerdict(error: unknown): BreakerVerdict;
  openChangeFeed(handlers: ChangeFeedHandlers): ChangeFeed;
  /** Signs in now (the first call would otherwise), without failing the start. */
  connect(): Promise<void>;
  health(): CrmHealth;
  /** Where a person opens the deal `id` in the CRM; null until the CRM's address is known. */
  recordUrl(id: string): string | null;
}
