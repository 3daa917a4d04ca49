import type { BreakerStatus } from './breaker.ts';
import type { DashboardOperations } from './dashboardOperations.ts';
import type { AuditEvent } from './store/audit.ts';
import type { Link, SyncStatus } from './store/links.ts';
import type { FailedJob, JobCounts } from './store/queue.ts';
import type { SyncNowResult } from './syncNow.ts';

/** One readiness check: ok, or what is wrong in words an operator can act on. */
export interface Check {
  ok: boolean;
  detail?: string;
}

export interface SubscriberStatus extends Check {
  /** Only one relay instance subscribes (Postgres advisory lock); the others stand by. */
  role: 'leader' | 'standby' | 'stopped';
  connected: boolean;
  reconnects: number;
  received: number;
  lagMs: number | null;
  lastEventAt: string | null;
  lastReplayId: string | null;
}

/**
 * The circuit breakers (breaker.ts). An open one leaves the relay ready: it still takes webhooks and
 * events, whose jobs wait for the breaker; `detail` says which calls are paused and until when.
 */
export interface BreakersCheck extends Check {
  open: BreakerStatus[];
}

export interface TokenStatus extends Check {
  status: 'ok' | 'missing' | 'expiring' | 'failed';
  account?: string;
  expiresOn?: string;
}

export interface RelayStatus {
  mode: 'sandbox' | 'production';
  version: string;
  startedAt: string;
  ready: boolean;
  draining: boolean;
  checks: {
    database: Check;
    workers: Check;
    partnerCenterToken: TokenStatus;
    salesforce: Check;
    subscriber: SubscriberStatus;
    breakers: BreakersCheck;
  };
  jobs: JobCounts;
  links: Record<SyncStatus, number>;
  salesforce: { apiCalls: number; apiUsage: { used: number; limit: number } | null };
  webhooks: { accepted: number; duplicates: number; ignored: number; rejected: number };
  lastReconcileAt: string | null;
}

/** What the dashboard, the admin API and the CLI can ask of a running relay. */
export interface RelayOperations extends DashboardOperations {
  status(): Promise<RelayStatus>;
  listLinks(options?: { status?: SyncStatus; limit?: number }): Promise<Link[]>;
  listAudit(options?: {
    referralId?: string;
    opportunityId?: string;
    level?: 'INFO' | 'ERROR';
    limit?: number;
  }): Promise<AuditEvent[]>;
  listFailedJobs(limit?: number): Promise<FailedJob[]>;
  /** Puts a dead-lettered job back in the queue with fresh attempts. */
  retryJob(jobId: string): Promise<boolean>;
  /** Deletes a dead-lettered job for good (recorded in the audit log). */
  dropJob(jobId: string): Promise<boolean>;
  /** Enqueues a reconcile now: referrals changed since the watermark, and synced Opportunities changed since then. */
  reconcile(): Promise<string>;
  /**
   * Sync now: queues the pair's outbound and inbound jobs, forced past "nothing changed", and waits
   * up to `waitMs` for them. Throws SyncNowRefused for an id that names nothing syncable.
   */
  syncNow(id: string, waitMs: number): Promise<SyncNowResult>;
  /** Enqueues every referral Partner Center lists; returns how many. */
  backfill(onProgress?: (count: number) => void): Promise<number>;
}
