import type pg from 'pg';
import type { Logger } from '../logger.ts';
import type { ReferralsClient } from '../partner-center/referralsClient.ts';
import type { CrmAdapter, RelayFieldNames } from '../crm/crmAdapter.ts';
import type { NamedLocks } from '../store/namedLock.ts';
import type { Mapping } from '../sync/index.ts';
import type { NotificationOutbox } from '../notifications/outbox.ts';
import type { RetryPolicy } from './retry.ts';

/** What every sync job needs; built once in main.ts (or a test) and shared by the task handlers. */
export interface SyncContext {
  pool: pg.Pool;
  /** Cross-instance mutual exclusion for work that must not run twice at once. */
  locks: NamedLocks;
  referrals: ReferralsClient;
  /** The CRM behind the port: its deals, its names for the relay's fields, its error kinds. */
  crm: Pick<CrmAdapter, 'fields' | 'deals' | 'classifyError'>;
  mapping: Mapping;
  retry: RetryPolicy;
  maxAttempts: number;
  logger: Logger;
  now: () => Date;
  /** Counts where an outbound job got the Opportunity from: the event's snapshot or a query. */
  countRecordSource?: (source: 'snapshot' | 'query') => void;
  /** Called once a job has written the change to the other side (latency metrics, dashboard charts). */
  observeWrite?: (changedAt?: string | number | Date | null) => void;
  /** Called when a job gives up on its record (a failed attempt that throws is counted by the queue's wrapper). */
  observeGiveUp?: (direction: 'inbound' | 'outbound') => void;
  /** The partner's solution ids a create may name (PARTNER_SOLUTION_IDS); absent: any well-formed id. */
  knownSolutions?: ReadonlySet<string>;
  /** What a deleted CRM record does to its referral (jobs/dealRemoved.ts); absent: it is closed. */
  deletes?: { rule: 'close' | 'keep-open'; reason: string };
  /** Where notifications go (jobs/notices.ts); absent: none are sent. */
  notifications?: NotificationOutbox;
  /** The CRM's web address of a deal, for links in notifications. */
  dealUrl?: (id: string) => string | null;
}

/** What building a read's field list needs: the mapping and the CRM's names for the relay's fields. */
export type FieldsContext = Pick<SyncContext, 'mapping'> & { crm: Pick<CrmAdapter, 'fields'> };

/**
 * Fields of the package the relay reads on a deal besides the mapped ones (never sent to Partner
 * Center). The audit trail is not among them: the relay sends new lines in the audit entry field.
 */
export function relayFields(fields: RelayFieldNames): string[] {
  return [fields.syncStatus, fields.syncFlag, fields.writeCount];
}
