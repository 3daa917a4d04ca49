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
}

/** Fields the relay itself maintains on the Opportunity (never mapped, never sent to Partner Center). */
export const RELAY_FIELDS = ['Audit__c', 'Referral_Sync_Status__c', 'Sync_with_Partner_Center__c'] as const;
