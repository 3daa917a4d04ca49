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

/** The states, built at `now` (the inbox's deadline counts down from it). */
export function previewStates(): PreviewState[] {
  const seller = panelFixture('getObjectInfoSeller');
  const readOnly = panelFixture('getObjectInfoReadOnly');
  const help = panelFixture('getPicklistValuesHelp');
  const notSynced = panelFixture<RecordFixture>('getRecordNotSynced');
  const pending = panelFixture<RecordFixture>('getRecordPending');
  const synced = panelFixture<RecordFixture>('getRecordSynced');
  const failed = panelFixture<RecordFixture>('getRecordError');
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
  ].map((state) => ({ ...state, record: state.record ? withFields(state.record, {}) : null }));
}
