import type pg from 'pg';
import type { Metrics } from './metrics.ts';
import type { SubscriberStatus } from './operations.ts';
import type { CrmAdapter } from './crm/crmAdapter.ts';
import { countDeadLettersByTask } from './store/deadLetters.ts';
import { countJobs } from './store/queue.ts';

/**
 * The relay's series that are read when /metrics is scraped: from objects that keep their own
 * counts (the Salesforce connection and gateway, the Pub/Sub subscriber, the Partner Center call
 * counter) and from PostgreSQL (queue depth, dead letters).
 */
export function registerRelayMetrics(
  metrics: Metrics,
  sources: {
    pool: pg.Pool;
    crm: Pick<CrmAdapter, 'name' | 'deals' | 'health'>;
    partnerCenterCalls: () => ReadonlyMap<string, number>;
    subscriber: () => SubscriberStatus;
    isLeader: () => boolean;
  },
): void {
  metrics.gauge(
    'cosell_pubsub_lag_seconds',
    'Receipt time minus CreatedDate of the last Pub/Sub event',
    () => {
      const lag = sources.subscriber().lagMs;
      return lag === null ? [] : [{ value: lag / 1000 }];
    },
  );
  metrics.sampledCounter(
    'cosell_pubsub_reconnects_total',
    'Pub/Sub Subscribe streams opened after the first',
    [],
    () => [{ value: sources.subscriber().reconnects }],
  );
  metrics.sampledCounter('cosell_pubsub_events_received_total', 'Pub/Sub events received', [], () => [
    { value: sources.subscriber().received },
  ]);
  metrics.gauge('cosell_pubsub_leader', '1 when this instance holds the subscriber role', () => [
    { value: sources.isLeader() ? 1 : 0 },
  ]);
  metrics.gauge('cosell_pubsub_connected', '1 while this instance has a Pub/Sub stream open', () => [
    { value: sources.subscriber().connected ? 1 : 0 },
  ]);
  metrics.sampledCounter(
    'cosell_salesforce_api_calls_total',
    'Salesforce REST requests made by this process (logins and limit reads included)',
    [],
    () => [{ value: sources.crm.health().apiCalls }],
  );
  metrics.sampledCounter(
    'cosell_api_calls_total',
    'API calls by service and endpoint (Salesforce: by kind of batched call; Partner Center: method and path)',
    ['service', 'endpoint'],
    () => [
      ...Object.entries(sources.crm.deals.stats().calls).map(([endpoint, value]) => ({
        labels: { service: sources.crm.name, endpoint },
        value,
      })),
      ...[...sources.partnerCenterCalls()].map(([endpoint, value]) => ({
        labels: { service: 'partner_center', endpoint },
        value,
      })),
    ],
  );
  metrics.gauge(
    'cosell_salesforce_api_usage',
    'Org API usage from the last Sforce-Limit-Info header',
    () => {
      const usage = sources.crm.health().apiUsage;
      return usage
        ? [
            { labels: { kind: 'used' }, value: usage.used },
            { labels: { kind: 'limit' }, value: usage.limit },
          ]
        : [];
    },
    ['kind'],
  );
  metrics.gauge(
    'cosell_queue_jobs',
    'Jobs in the queue by state (queued, running, retrying, failed = dead letters)',
    async () =>
      Object.entries(await countJobs(sources.pool)).map(([state, value]) => ({ labels: { state }, value })),
    ['state'],
  );
  metrics.gauge(
    'cosell_dead_letters',
    'Jobs out of attempts, kept until retried or dropped, by task',
    async () =>
      [...(await countDeadLettersByTask(sources.pool))].map(([task, value]) => ({ labels: { task }, value })),
    ['task'],
  );
}
