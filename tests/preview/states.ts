/**
 * Every state the preview renders the referral panel in, with what each must show. The records
 * reuse the panel's Jest fixtures, so the preview and the unit tests agree on what a state is.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..');
export const LWC_DIR = path.join(ROOT, 'force-app', 'main', 'default', 'lwc');

type Json = Record<string, unknown>;
interface RecordFixture extends Json {
  id: string;
  fields: Record<string, { value: unknown; displayValue: unknown }>;
}

function panelFixture<T = Json>(name: string): T {
  return JSON.parse(
    readFileSync(path.join(LWC_DIR, 'referralPanel', '__tests__', 'data', `${name}.json`), 'utf8'),
  );
}

export interface PreviewState {
  name: string;
  title: string;
  description: string;
  record: RecordFixture | null;
  recordError?: Json;
  objectInfo: Json;
  picklistValues: Json;
  /** Sets Referral_Created_Date__c this many hours before the page opens (the inbox counts down). */
  createdHoursAgo?: number;
  /** Text the rendered panel must contain; the browser test fails when any is missing. */
  expectText: string[];
}

function withFields(record: RecordFixture, values: Record<string, unknown>): RecordFixture {
  const copy: RecordFixture = JSON.parse(JSON.stringify(record));
  for (const [name, value] of Object.entries(values)) {
    copy.fields[name] = { value, displayValue: null };
  }
  return copy;
}

/** Every state; an inbox state's creation time is relative to when its page opens. */
export function previewStates(): PreviewState[] {
  const seller = panelFixture('getObjectInfoSeller');
  const readOnly = panelFixture('getObjectInfoReadOnly');
  const help = panelFixture('getPicklistValuesHelp');
  const notSynced = panelFixture<RecordFixture>('getRecordNotSynced');
  const pending = panelFixture<RecordFixture>('getRecordPending');
  const synced = panelFixture<RecordFixture>('getRecordSynced');
  const failed = panelFixture<RecordFixture>('getRecordError');
  const incoming = panelFixture<RecordFixture>('getRecordIncoming');
  const base = { objectInfo: seller, picklistValues: help };
  return [
    {
      ...base,
      name: 'loading',
      title: 'Loading',
      description: 'Lightning Data Service has not answered yet.',
      record: null,
      expectText: [],
    },
    {
      ...base,
      name: 'load-error',
      title: 'Record not readable',
      description: 'The seller may not read this Opportunity.',
      record: null,
      recordError: { status: 403, body: { message: 'You do not have access to this record.' } },
      expectText: ['You do not have access to this record.'],
    },
    {
      ...base,
      name: 'not-synced',
      title: 'Not synced',
      description: 'Sync with Partner Center is off.',
      record: notSynced,
      expectText: ['Not synced', 'Not created yet', 'No sync activity yet.'],
    },
    {
      ...base,
      name: 'pending',
      title: 'Pending',
      description: 'The seller saved; the relay has not answered yet.',
      record: pending,
      expectText: ['Pending', 'Sync history'],
    },
    {
      ...base,
      name: 'synced',
      title: 'Synced',
      description: 'The relay created the referral and wrote its link back.',
      record: synced,
      expectText: ['Synced', 'Active · Accepted', 'Referral created'],
    },
    {
      ...base,
      name: 'error',
      title: 'Sync error',
      description: 'Partner Center rejected the last change.',
      record: failed,
      expectText: ['Error', 'Customer country "USA" is not an ISO 3166 alpha-2 code'],
    },
    {
      ...base,
      objectInfo: readOnly,
      name: 'read-only',
      title: 'Read only',
      description: 'The user may read the referral fields but not edit them.',
      record: synced,
      expectText: ['Proof of concept or demo', 'SOL-34104-EBB'],
    },
    {
      ...base,
      name: 'inbox',
      title: 'Inbox: awaiting an answer',
      description: 'Microsoft shared a referral four days ago; the seller may accept or decline it.',
      record: incoming,
      // Half an hour short of four days: ten days and a few minutes left while the test looks.
      createdHoursAgo: 4 * 24 - 0.5,
      expectText: ['Microsoft shared this referral with you', '10 days left', 'Accept', 'New · Pending'],
    },
    {
      ...base,
      name: 'inbox-expiring',
      title: 'Inbox: expiring',
      description: 'Five hours are left to answer.',
      record: withFields(incoming, { Referral_Substatus__c: 'Received' }),
      createdHoursAgo: 14 * 24 - 5,
      expectText: ['4 hours left', 'New · Received'],
    },
    {
      ...base,
      name: 'inbox-expired',
      title: 'Inbox: expired',
      description: 'Nobody answered for 14 days; Partner Center archives it as Expired.',
      record: incoming,
      createdHoursAgo: 15 * 24,
      expectText: ['Expired', 'archives a referral nobody answered within 14 days'],
    },
    {
      ...base,
      name: 'inbox-answered',
      title: 'Inbox: accepted, not yet sent',
      description: 'The seller accepted; the relay has not sent it to Partner Center yet.',
      record: withFields(incoming, { Referral_Response__c: 'Accepted', Referral_Sync_Status__c: 'Pending' }),
      createdHoursAgo: 4 * 24,
      expectText: ['You accepted this referral', 'Pending'],
    },
  ];
}
