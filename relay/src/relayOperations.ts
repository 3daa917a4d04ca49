/**
 * What the dashboard, the admin API and the CLI can ask of a running relay: its status (every
 * readiness check and count), the links and audit log, the dead letters (list, retry, drop) and a
 * reconcile or backfill on demand.
 */
import type pg from 'pg';
import type { CircuitBreaker } from './breaker.ts';
import type { RelayConfig } from './config.ts';
import type { CrmAdapter } from './crm/crmAdapter.ts';
import { createDashboardOperations } from './dashboardOperations.ts';
import { describeError } from './errors.ts';
import { enqueueReferralSyncs, REFERRAL_WATERMARK } from './jobs/reconcile.ts';
import type { Metrics } from './metrics.ts';
import type { RelayOperations, RelayStatus, SubscriberStatus } from './operations.ts';
import type { EntraAuth } from './partner-center/entraAuth.ts';
import type { ReferralsClient } from './partner-center/referralsClient.ts';
import { listAudit, recordAudit } from './store/audit.ts';
import { loadCheckpointInfo } from './store/checkpoints.ts';
import {
  countOpenDeadLetters,
  dropDeadLetter,
  listDeadLetters,
  retryDeadLetter,
} from './store/deadLetters.ts';
import { countLinksByStatus, listLinks } from './store/links.ts';
import { checkDatabase } from './store/database.ts';
import { countJobs } from './store/queue.ts';
import type { Mapping } from './sync/index.ts';
import type { SyncStats } from './syncStats.ts';
import { syncNow } from './syncNow.ts';

export interface RelayOperationsDeps {
  pool: pg.Pool;
  config: RelayConfig;
  version: string;
  startedAt: Date;
  auth: Pick<EntraAuth, 'tokenHealth'>;
  crm: CrmAdapter;
  referrals: ReferralsClient;
  mapping: Mapping;
  metrics: Metrics;
  syncStats: SyncStats;
  breakers: readonly CircuitBreaker[];
  changeIntake: { status(): SubscriberStatus };
  /** Ends a failed graphile-worker job for good (a dropped dead letter of a task other than the syncs). */
  completeJob(jobId: string): Promise<void>;
  enqueueReconcile(): Promise<string>;
  isDraining(): boolean;
}

export function createRelayOperations(deps: RelayOperationsDeps): RelayOperations {
  const { pool, config, metrics, referrals, crm, mapping, syncStats } = deps;
  const webhookCount = (outcome: string) => metrics.value('cosell_webhook_deliveries_total', { outcome });
  return {
    async status(): Promise<RelayStatus> {
      const database = await checkDatabase(pool);
      const [jobs, links, health, watermark] = database.ok
        ? await Promise.all([
            // Sync jobs that gave up leave a dead letter of their own, not a failed graphile job.
            Promise.all([countJobs(pool), countOpenDeadLetters(pool)]).then(([counts, open]) => ({
              ...counts,
              failed: counts.failed + open,
            })),
            countLinksByStatus(pool),
            deps.auth
              .tokenHealth()
              .catch((error: unknown) => ({ status: 'failed' as const, detail: describeError(error) })),
            loadCheckpointInfo(pool, REFERRAL_WATERMARK),
          ])
        : [
            { queued: 0, running: 0, retrying: 0, failed: 0 },
            { Synced: 0, Pending: 0, Error: 0 },
            { status: 'failed' as const, detail: 'database unreachable' },
            null,
          ];
      const workers = deps.isDraining() ? { ok: false, detail: 'shutting down' } : { ok: true };
      const token = { ...health, ok: health.status === 'ok' || health.status === 'expiring' };
      const crmHealth = crm.health();
      const sfCheck = crmHealth.ok ? { ok: true } : { ok: false, detail: crmHealth.detail };
      const sub = deps.changeIntake.status();
      const openBreakers = deps.breakers.map((b) => b.status()).filter((b) => b.state !== 'closed');
      const breakerCheck = {
        ok: true,
        open: openBreakers,
        ...(openBreakers.length > 0
          ? {
              detail: openBreakers
                .map((b) => `${b.name} calls paused until ${b.retryAt ?? '?'}: ${b.reason ?? ''}`)
                .join('; '),
            }
          : {}),
      };
      return {
        mode: config.COSELL_MODE,
        version: deps.version,
        startedAt: deps.startedAt.toISOString(),
        ready: database.ok && workers.ok && token.ok && sfCheck.ok && sub.ok,
        draining: deps.isDraining(),
        checks: {
          database,
          workers,
          partnerCenterToken: token,
          salesforce: sfCheck,
          subscriber: sub,
          breakers: breakerCheck,
        },
        jobs,
        links,
        salesforce: {
          apiCalls: crmHealth.apiCalls,
          apiUsage: crmHealth.apiUsage,
        },
        webhooks: {
          accepted: webhookCount('accepted'),
          duplicates: webhookCount('duplicate'),
          ignored: webhookCount('ignored'),
          rejected: Object.values(
            Object.fromEntries(
              ['SIGNATURE_INVALID', 'REQUEST_INVALID', 'PAYLOAD_TOO_LARGE'].map((r) => [
                r,
                metrics.value('cosell_webhook_deliveries_total', { outcome: 'rejected', reason: r }),
              ]),
            ),
          ).reduce((a, b) => a + b, 0),
        },
        lastReconcileAt: watermark ? watermark.value.toString('utf8') : null,
      };
    },
    listLinks: (o) => listLinks(pool, o),
    listAudit: (o) => listAudit(pool, o),
    listFailedJobs: (limit) => listDeadLetters(pool, limit),
    async retryJob(jobId) {
      const retried = await retryDeadLetter(pool, jobId);
      if (!retried) return false;
      await recordAudit(pool, {
        direction: 'system',
        level: 'INFO',
        jobId,
        referralId: retried.referralId,
        opportunityId: retried.opportunityId,
        message: `Dead letter ${jobId} (${retried.task}) put back in the queue`,
      });
      return true;
    },
    async dropJob(jobId) {
      const dropped = await dropDeadLetter(pool, jobId, (id) => deps.completeJob(id));
      if (!dropped) return false;
      await recordAudit(pool, {
        direction: 'system',
        level: 'INFO',
        jobId,
        referralId: dropped.referralId,
        opportunityId: dropped.opportunityId,
        message: `Dead letter ${jobId} (${dropped.task}) dropped; last error: ${dropped.lastError ?? 'none'}`,
        details: { payload: dropped.payload as Record<string, unknown> },
      });
      return true;
    },
    reconcile: deps.enqueueReconcile,
    syncNow: (id, waitMs) =>
      syncNow({ pool, crm, referrals, maxAttempts: config.JOB_MAX_ATTEMPTS }, id, waitMs),
    backfill: (onProgress) =>
      enqueueReferralSyncs(
        { pool, referrals, maxAttempts: config.JOB_MAX_ATTEMPTS },
        null,
        'backfill',
        onProgress,
      ),
    ...createDashboardOperations({ pool, referrals, crm, mapping, syncStats }),
  };
}
