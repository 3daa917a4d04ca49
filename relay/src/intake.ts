/**
 * Where changes come in, side by side: Partner Center's webhook deliveries (inbound) and the CRM's
 * change feed (outbound). Each turns what arrived into queued jobs in one commit with what proves
 * it arrived (the delivery's receipt; the feed's checkpoint), so a crash loses or repeats nothing.
 */
import type pg from 'pg';
import type { RelayConfig } from './config.ts';
import { crashPoint } from './crashPoint.ts';
import type { ChangeFeed, CrmAdapter, DealChange, UndecodableChange } from './crm/crmAdapter.ts';
import { outboundJobPayload } from './jobs/opportunityChanged.ts';
import { keepUndecodableEvents } from './jobs/undecodableEvent.ts';
import type { Logger } from './logger.ts';
import type { SubscriberStatus } from './operations.ts';
import { recordAudit } from './store/audit.ts';
import { loadCheckpoint, saveCheckpoint } from './store/checkpoints.ts';
import { createLeaderElection } from './store/leaderLock.ts';
import { enqueueSyncJobs } from './store/queue.ts';
import { withTransaction } from './store/transaction.ts';
import { createDeliveryIntake } from './store/webhookReceipts.ts';

// Any constant works; it only has to be the same for every relay instance sharing a database.
const SUBSCRIBER_LOCK = 0x5f5375627363;
export const REPLAY_CHECKPOINT = 'pubsub:replay';

/** Inbound: each verified delivery becomes a receipt and its referral's job (store/webhookReceipts.ts). */
export function createWebhookIntake(pool: pg.Pool, config: RelayConfig) {
  return createDeliveryIntake(pool, {
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    coalesceMs: config.COALESCE_WINDOW_MS,
  });
}

export interface ChangeIntake {
  /** The feed while this instance holds the subscriber role, else null. */
  feed(): ChangeFeed | null;
  isLeader(): boolean;
  status(): SubscriberStatus;
  stop(): Promise<void>;
}

/**
 * Outbound: the CRM's change feed, read by one instance at a time (a PostgreSQL advisory lock
 * elects it; the others stand by and take over within seconds). `subscribe: false` reads nothing.
 */
export function startChangeIntake(options: {
  pool: pg.Pool;
  connectionString: string;
  crm: Pick<CrmAdapter, 'openChangeFeed'>;
  config: RelayConfig;
  subscribe: boolean;
  /** Called when the feed lost its position: a reconcile finds what it may have missed. */
  enqueueReconcile: () => Promise<unknown>;
  logger: Logger;
}): ChangeIntake {
  const { pool, config } = options;
  let feed: ChangeFeed | null = null;

  const onBatch = (changes: DealChange[], checkpoint: Buffer, undecodable: UndecodableChange[]) =>
    withTransaction(pool, async (client) => {
      await keepUndecodableEvents(client, undecodable, { maxAttempts: config.JOB_MAX_ATTEMPTS });
      // One job per deal however many of its changes the batch holds: the latest, whose snapshot
      // is the newest.
      const latest = new Map<string, DealChange>();
      for (const change of changes) {
        if (typeof change.dealId === 'string' && change.dealId.length > 0) latest.set(change.dealId, change);
      }
      await enqueueSyncJobs(
        client,
        'opportunity',
        [...latest].map(([dealId, change]) => ({
          id: dealId,
          payload: { ...outboundJobPayload(change), changedAt: change.changedAt },
        })),
        { maxAttempts: config.JOB_MAX_ATTEMPTS, coalesceMs: config.COALESCE_WINDOW_MS },
      );
      crashPoint('pubsub-batch:commit');
      // The jobs and the position they came from commit together: a crash either keeps both or
      // neither, and the stream resumes right after the last change that became a job.
      await saveCheckpoint(client, REPLAY_CHECKPOINT, checkpoint);
    });

  const election = options.subscribe
    ? createLeaderElection({
        connectionString: options.connectionString,
        lockKey: SUBSCRIBER_LOCK,
        retryMs: 3000,
        logger: options.logger.child({ module: 'leader' }),
        onElected: async () => {
          feed = options.crm.openChangeFeed({
            loadCheckpoint: () => loadCheckpoint(pool, REPLAY_CHECKPOINT),
            onBatch,
            onCheckpointLost: async (from) => {
              await recordAudit(pool, {
                direction: 'system',
                level: 'ERROR',
                message: `Pub/Sub replay id was no longer valid; resubscribed from ${from} and started a reconcile`,
              });
              await options.enqueueReconcile();
            },
          });
          feed.start();
        },
        onDemoted: async () => {
          const current = feed;
          feed = null;
          await current?.stop();
        },
      })
    : null;
  election?.start();

  return {
    feed: () => feed,
    isLeader: () => election?.isLeader() ?? false,
    status(): SubscriberStatus {
      const stats = feed?.status();
      const role = !options.subscribe ? 'stopped' : election?.isLeader() ? 'leader' : 'standby';
      const ok = role !== 'leader' || Boolean(stats && (stats.connected || stats.failures < 3));
      return {
        ok,
        detail: ok ? undefined : `Pub/Sub stream down after ${stats?.failures ?? 0} failures`,
        role,
        connected: stats?.connected ?? false,
        reconnects: stats?.reconnects ?? 0,
        received: stats?.received ?? 0,
        lagMs: stats?.lagMs ?? null,
        lastEventAt: stats?.lastEventAt ? new Date(stats.lastEventAt).toISOString() : null,
        lastReplayId: stats?.lastPosition ?? null,
      };
    },
    stop: async () => {
      await election?.stop();
    },
  };
}
