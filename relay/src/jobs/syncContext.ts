import type pg from 'pg';
import type { Logger } from '../logger.ts';
import type { ReferralsClient } from '../partner-center/referralsClient.ts';
import type { OpportunityGateway } from '../salesforce/opportunityGateway.ts';
import type { NamedLocks } from '../store/namedLock.ts';
import type { Mapping } from '../sync/index.ts';
import type { RetryPolicy } from './retry.ts';

/** What every sync job needs; built once in main.ts (or a test) and shared by the task handlers. */
export interface SyncContext {
  pool: pg.Pool;
  /** Cross-instance mutual exclusion for work that must not run twice at once. */
  locks: NamedLocks;
  referrals: ReferralsClient;
  opportunities: OpportunityGateway;
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
}

/**
 * Fields of the package the relay reads on the Opportunity besides the mapped ones (never sent to
 * Partner Center). Audit__c is not among them: the relay sends new lines in Audit_Entry__c.
 */
export const RELAY_FIELDS = [
  'Referral_Sync_Status__c',
  'Sync_with_Partner_Center__c',
  'Relay_Write_Count__c',
] as const;
