import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { prependAudit } from '../../src/sync/audit.ts';

/**
 * The sandbox's copy of the package's Opportunity publish rule (ReferralSyncRule.cls and
 * ReferralSyncService.cls). Its inputs come from the package itself so the two cannot drift:
 * the mapped fields are the Referral_Mapped_Field custom metadata records in force-app (what
 * deploys), and the staticresources/ReferralSyncRuleCases.json decision table drives both the
 * Apex tests and this module's tests.
 */

export const SYNC_FIELD = 'Sync_with_Partner_Center__c';
const REFERRAL_ID_FIELD = 'Referral_Identifier__c';
export const EVENT_NAME = 'Referral_Sync__e';
/**
 * Counted by the before-save half on every relay write: a save by the integration user that carries
 * audit lines (ReferralSyncService.applyRelayWrites).
 */
export const WRITE_COUNT_FIELD = 'Relay_Write_Count__c';
/** Lines the relay sends; the before-save half moves them to the top of Audit__c. */
export const AUDIT_ENTRY_FIELD = 'Audit_Entry__c';
export const AUDIT_FIELD = 'Audit__c';
/** Set by the before-save half on a record whose save it publishes. */
export const SYNC_STATUS_FIELD = 'Referral_Sync_Status__c';
/** Besides the mapped fields, what Record_Snapshot__c holds (ReferralSyncService.SNAPSHOT_FIELDS). */
export const SNAPSHOT_FIELDS = [
  'Id',
  'IsClosed',
  'IsWon',
  'Microsoft_CRM_Identifier__c',
  'Referral_Created_Date__c',
  'Referral_Identifier__c',
  'Referral_Link__c',
  'Referral_Status__c',
  'Referral_Substatus__c',
  SYNC_STATUS_FIELD,
  WRITE_COUNT_FIELD,
  SYNC_FIELD,
] as const;
const MAPPED_FIELD_RECORD = /^Referral_Mapped_Field\.(.+)\.md-meta\.xml$/;

/** One committed write, as the sandbox's record store reports it. */
export interface RecordChange {
  sobject: string;
  operation: 'insert' | 'update' | 'delete' | 'undelete';
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
  userId: string;
}

/** `Resync`: a seller's Sync now in the panel (ReferralSyncNowController), not a trigger decision. */
export type ChangeKind = 'Created' | 'SyncEnabled' | 'Updated' | 'Resync' | 'Deleted' | 'Undeleted';

export type TriggerDecision =
  { publish: false } | { publish: true; changeKind: ChangeKind; changedFields: string[] };

export interface TriggerRule {
  decide(change: RecordChange): TriggerDecision;
  /** The before-save half: the values it sets on the record being saved. */
  beforeSave(change: RecordChange): Record<string, unknown>;
  /** The Referral_Sync__e payload for a committed change the rule publishes. */
  payload(change: RecordChange, decision: Extract<TriggerDecision, { publish: true }>): ReferralSyncPayload;
  describe(): { syncField: string; mappedFields: string[]; eventName: string };
}

export interface TriggerRuleOptions {
  forceAppDir: string;
  integrationUserId: string;
  /**
   * Whether the Referral_Sync_Bypass__c hierarchy setting has Disable_Publish__c on for this
   * user (admins switch it on for bulk loads). Defaults to never.
   */
  isBypassed?: (userId: string) => boolean;
}

export function createTriggerRule(options: TriggerRuleOptions): TriggerRule {
  const mappedFields = readMappedFields(options.forceAppDir);
  assertPackageDefines(options.forceAppDir);
  const isBypassed = options.isBypassed ?? (() => false);

  function decide(change: RecordChange): TriggerDecision {
    if (change.sobject !== 'Opportunity') return { publish: false };
    if (isBypassed(change.userId) || change.userId === options.integrationUserId) return { publish: false };
    // After delete / undelete (ReferralSyncRule.decideRemoval): a record with a referral or sync on.
    if (change.operation === 'delete' || change.operation === 'undelete') {
      const paired =
        typeof change.after[REFERRAL_ID_FIELD] === 'string' && change.after[REFERRAL_ID_FIELD] !== '';
      if (!paired && change.after[SYNC_FIELD] !== true) return { publish: false };
      return {
        publish: true,
        changeKind: change.operation === 'delete' ? 'Deleted' : 'Undeleted',
        changedFields: [],
      };
    }
    if (change.after[SYNC_FIELD] !== true) return { publish: false };
    if (change.operation === 'insert' || change.before === null)
      return { publish: true, changeKind: 'Created', changedFields: [] };
    if (change.before[SYNC_FIELD] !== true)
      return { publish: true, changeKind: 'SyncEnabled', changedFields: [] };
    const before = change.before;
    const changedFields = mappedFields.filter((field) => differs(before[field], change.after[field]));
    if (changedFields.length === 0) return { publish: false };
    return { publish: true, changeKind: 'Updated', changedFields };
  }

  function beforeSave(change: RecordChange): Record<string, unknown> {
    if (change.sobject !== 'Opportunity') return {};
    const set: Record<string, unknown> = {};
    const count = Number(change.before?.[WRITE_COUNT_FIELD] ?? 0) || 0;
    const entry = change.after[AUDIT_ENTRY_FIELD];
    const hasEntry = typeof entry === 'string' && entry !== '';
    set[WRITE_COUNT_FIELD] = hasEntry && change.userId === options.integrationUserId ? count + 1 : count;
    if (hasEntry) {
      const existing = change.after[AUDIT_FIELD];
      set[AUDIT_FIELD] = prependAudit(typeof existing === 'string' ? existing : null, entry);
      set[AUDIT_ENTRY_FIELD] = null;
    }
    if (decide(change).publish) set[SYNC_STATUS_FIELD] = 'Pending';
    return set;
  }

  return {
    decide,
    beforeSave,
    payload: (change, decision) => referralSyncPayload(change, decision, mappedFields),
    describe: () => ({ syncField: SYNC_FIELD, mappedFields: [...mappedFields], eventName: EVENT_NAME }),
  };
}

/**
 * Same comparison as ReferralSyncRule.differs: a missing field counts as null, and strings compare
 * case-sensitively (Apex `==` would not, and a seller fixing capitalisation did change the field).
 */
function differs(before: unknown, after: unknown): boolean {
  const a = before ?? null;
  const b = after ?? null;
  if (a === null || b === null) return a !== b;
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) !== JSON.stringify(b);
  return a !== b;
}

/**
 * Field_API_Name__c of every Referral_Mapped_Field record, sorted so that `changedFields` comes out
 * sorted as the Apex rule sorts it.
 */
export function readMappedFields(forceAppDir: string): string[] {
  const dir = path.join(forceAppDir, 'main', 'default', 'customMetadata');
  const files = existsSync(dir) ? readdirSync(dir).filter((name) => MAPPED_FIELD_RECORD.test(name)) : [];
  if (files.length === 0) {
    throw new Error(
      `No Referral_Mapped_Field custom metadata records in ${dir}; run \`npm run mapping:generate\``,
    );
  }
  const parser = new XMLParser({ ignoreAttributes: true, isArray: (name) => name === 'values' });
  const fields = new Set<string>();
  for (const file of files) {
    const xml = parser.parse(readFileSync(path.join(dir, file), 'utf8')) as {
      CustomMetadata?: { values?: Array<{ field?: unknown; value?: unknown }> };
    };
    const value = xml.CustomMetadata?.values?.find((entry) => entry.field === 'Field_API_Name__c')?.value;
    if (typeof value !== 'string' || value.trim() === '') {
      throw new Error(`${file} has no Field_API_Name__c value`);
    }
    fields.add(value.trim());
  }
  return [...fields].sort();
}

function assertPackageDefines(forceAppDir: string): void {
  const objects = path.join(forceAppDir, 'main', 'default', 'objects');
  const required = [
    path.join(objects, 'Opportunity', 'fields', `${SYNC_FIELD}.field-meta.xml`),
    path.join(objects, EVENT_NAME, `${EVENT_NAME}.object-meta.xml`),
  ];
  for (const file of required) {
    if (!existsSync(file)) throw new Error(`The package does not define ${path.relative(forceAppDir, file)}`);
  }
}

export interface ReferralSyncPayload {
  Opportunity_Id__c: string;
  Change_Kind__c: string;
  Changed_Fields__c: string | null;
  Changed_By__c: string;
  Record_Snapshot__c: string;
}

/** The Referral_Sync__e payload the package's trigger publishes for a decision (ReferralSyncService). */
export function referralSyncPayload(
  change: RecordChange,
  decision: Extract<TriggerDecision, { publish: true }>,
  mappedFields: readonly string[],
): ReferralSyncPayload {
  const id = change.after.Id;
  if (typeof id !== 'string') throw new Error('An Opportunity change without an Id cannot be published');
  const snapshot: Record<string, unknown> = {};
  for (const field of [...SNAPSHOT_FIELDS, ...mappedFields]) snapshot[field] = change.after[field] ?? null;
  return {
    Opportunity_Id__c: id,
    Change_Kind__c: decision.changeKind,
    // Salesforce stores an empty text value as null, so Created and SyncEnabled carry no list.
    Changed_Fields__c: decision.changedFields.length > 0 ? decision.changedFields.join(',') : null,
    Changed_By__c: change.userId,
    Record_Snapshot__c: JSON.stringify(snapshot),
  };
}
