import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { addSyncMinutes, pruneSyncMinutes, readSyncMinutes } from './store/syncMinutes.ts';
import { chartSeries, LATENCY_BUCKETS_SECONDS, RANGES, SyncRollup } from './syncRollup.ts';
import type { ChartRange, ChartSeries, SyncDirection } from './syncRollup.ts';

interface JobClock {
  direction: SyncDirection;
  /**
   * When the change this job carries happened (epoch ms), or null when the job does not carry one
   * (reconcile, backfill, a retried dead letter): its writes count as syncs but not as latency, since
   * "change → write" for a referral changed last week says nothing about the relay.
   */
  changedAt: number | null;
}

export interface SyncStats {
  /** Runs one sync job so that the writes it reports are attributed to it. */
  runJob<T>(clock: JobClock, run: () => Promise<T>): Promise<T>;
  /**
   * A job wrote to the other side. `changedAt` is the change's own time when the job knows it better
   * than the queue (the referral's updatedDateTime); otherwise the job's clock is used.
   */
  observeWrite(changedAt?: string | number | Date | null): void;
  /** A job attempt failed. */
  observeFailure(direction: SyncDirection): void;
  /** Adds what this instance counted to PostgreSQL now. */
  flush(): Promise<void>;
  /** The dashboard's chart data, this instance's latest counts included. */
  series(range: ChartRange): Promise<ChartSeries>;
  stop(): Promise<void>;
}

const FLUSH_MS = 5_000;
const KEEP_MS = 2 * 24 * 3600_000;

function epochOf(value: string | number | Date | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const t = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(t) ? t : null;
}

/**
 * Sync latency and throughput, for /metrics (a histogram per direction) and for the dashboard's
 * charts (the per-minute rollup in PostgreSQL, so they survive restarts and cover every instance).
 */
export function createSyncStats(deps: { pool: pg.Pool; metrics: Metrics; logger: Logger }): SyncStats {
  const rollup = new SyncRollup();
  const jobs = new AsyncLocalStorage<JobClock>();
  const observeLatency = deps.metrics.histogram(
    'cosell_sync_latency_seconds',
    "Time from a change (the referral's updatedDateTime, the CRM change event's time) to the relay's write of it on the other side",
    LATENCY_BUCKETS_SECONDS,
    ['direction'],
  );
  const countWrite = deps.metrics.counter(
    'cosell_sync_writes_total',
    'Writes to the other side by sync jobs, by direction (reconcile and backfill included)',
    ['direction'],
  );
  let lastPrune = 0;
  let flushing: Promise<void> = Promise.resolve();

  const flushNow = async () => {
    const entries = rollup.drain();
    try {
      await addSyncMinutes(deps.pool, entries);
      if (Date.now() - lastPrune > 3600_000) {
        lastPrune = Date.now();
        await pruneSyncMinutes(deps.pool, new Date(Date.now() - KEEP_MS));
      }
    } catch (error) {
      rollup.restore(entries);
      throw error;
    }
  };
  // One flush at a time: two would each add the other's entries back after a failure.
  const flush = () => (flushing = flushing.catch(() => undefined).then(flushNow));
  const timer = setInterval(() => {
    flush().catch((error: unknown) =>
      deps.logger.debug({ err: describeError(error) }, 'sync statistics not flushed; next time'),
    );
  }, FLUSH_MS);
  timer.unref();

  return {
    runJob: (clock, run) => jobs.run(clock, run),
    observeWrite(changedAt) {
      const clock = jobs.getStore();
      if (!clock) return;
      const now = Date.now();
      countWrite({ direction: clock.direction });
      const from = clock.changedAt === null ? null : (epochOf(changedAt) ?? clock.changedAt);
      // Clocks of Partner Center or Salesforce a little ahead of ours must not make a negative latency.
      const seconds = from === null ? null : Math.max(0, now - from) / 1000;
      if (seconds !== null) observeLatency({ direction: clock.direction }, seconds);
      rollup.sync(clock.direction, seconds, new Date(now));
    },
    observeFailure(direction) {
      rollup.error(direction, new Date());
    },
    flush,
    async series(range) {
      await flush().catch(() => undefined);
      const now = new Date();
      const since = new Date(now.getTime() - (RANGES[range].minutes + RANGES[range].stepMinutes) * 60_000);
      return chartSeries(await readSyncMinutes(deps.pool, since), range, now);
    },
    async stop() {
      clearInterval(timer);
      await flush().catch((error: unknown) =>
        deps.logger.debug({ err: describeError(error) }, 'sync statistics not flushed at stop'),
      );
    },
  };
}
