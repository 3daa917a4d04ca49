import type pg from 'pg';
import type { Sandboxes } from '../../relay/sandbox/index.ts';
import type { DeliveryRecord } from '../../relay/sandbox/partner-center/index.ts';
import type { SandboxRequestLogEntry } from '../../relay/sandbox/salesforce/controls.ts';
import { waitFor } from './waitFor.ts';

/**
 * What the end-to-end suites look at from the outside: the Salesforce sandbox's request log, the
 * relay's queue and receipts in Postgres, and signed deliveries captured from the Partner Center
 * sandbox so a test can send them (or tampered copies) to the relay itself.
 */

/** Requests that wrote Opportunities (sObject Collections, single-record writes and upserts). */
export function opportunityWrites(sandboxes: Sandboxes): SandboxRequestLogEntry[] {
  return sandboxes.salesforce.requests().filter((r) => r.method !== 'GET' && isOpportunityWrite(r));
}

function isOpportunityWrite(entry: SandboxRequestLogEntry): boolean {
  if (/\/sobjects\/Opportunity(\/|$)/.test(entry.path)) return true;
  const records = (entry.body as { records?: Array<{ attributes?: { type?: string } }> } | undefined)
    ?.records;
  return Array.isArray(records) && records.some((r) => r.attributes?.type === 'Opportunity');
}

/** The records an Opportunity write request carried, without their `attributes`. */
export function writtenRecords(entry: SandboxRequestLogEntry): Array<Record<string, unknown>> {
  const body = entry.body as { records?: Array<Record<string, unknown>> } | Record<string, unknown>;
  const records = Array.isArray((body as { records?: unknown }).records)
    ? (body as { records: Array<Record<string, unknown>> }).records
    : [body as Record<string, unknown>];
  return records.map(({ attributes: _attributes, ...fields }) => fields);
}

/** Salesforce REST calls counted against the org's allocation (what Sforce-Limit-Info reports). */
export const salesforceApiCalls = (sandboxes: Sandboxes): number =>
  sandboxes.salesforce.counters().apiUsage.used;

/**
 * Creates or changes a referral with its webhook "lost" by the sandbox: the event is signed and
 * recorded exactly as Partner Center would send it, but never sent. The test delivers it.
 */
export function captureDelivery(sandboxes: Sandboxes, change: () => void): DeliveryRecord {
  const before = sandboxes.partnerCenter.deliveries.list().length;
  sandboxes.partnerCenter.faults.loseNextDeliveries(1);
  change();
  const record = sandboxes.partnerCenter.deliveries.list()[before];
  if (!record || record.state !== 'lost') throw new Error('the sandbox recorded no captured delivery');
  return record;
}

export interface DeliveryAnswer {
  status: number;
  body: { status?: string; error?: { code: string; message: string } };
}

/** POSTs a delivery (exact bytes and headers) to the relay's webhook endpoint. */
export async function postDelivery(
  relayUrl: string,
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<DeliveryAnswer> {
  const response = await fetch(`${relayUrl}/webhooks/partner-center`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as DeliveryAnswer['body']) : {} };
}

export const referralIdOf = (delivery: DeliveryRecord): string =>
  delivery.resourceUri.split('/').pop() as string;

/** Jobs (pending, running or failed) graphile-worker holds for a referral. */
export async function jobsForReferral(pool: pg.Pool, referralId: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'select count(*) as n from graphile_worker.jobs where key = $1',
    [`pc:${referralId}`],
  );
  return Number(rows[0].n);
}

export async function receiptsForReferral(pool: pg.Pool, referralId: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'select count(*) as n from cosell.webhook_receipts where referral_id = $1',
    [referralId],
  );
  return Number(rows[0].n);
}

/**
 * Waits until no inbound-referral-changed job is pending or running. A running job counts by its lock:
 * graphile-worker adds the attempt when it takes the job, so a job on its last attempt already
 * shows attempts = max_attempts while it runs.
 */
export async function waitForQueueIdle(pool: pg.Pool, message = 'the inbound queue to drain'): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await pool.query<{ n: string }>(
        `select count(*) as n from graphile_worker.jobs where task_identifier = 'inbound-referral-changed' and (attempts < max_attempts or locked_at is not null)`,
      );
      return Number(rows[0].n) === 0;
    },
    { message },
  );
}
