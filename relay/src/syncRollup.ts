/**
 * Per-minute rollup of syncs for the dashboard's charts: how many writes each direction made, how
 * many job attempts failed, and the latencies as histogram bucket counts. Buckets (not averages)
 * because percentiles cannot be averaged, while bucket counts of many minutes and instances simply
 * add up. Pure: the relay buffers here and store/syncMinutes.ts adds the buffer to PostgreSQL.
 */
export type SyncDirection = 'inbound' | 'outbound';

/** Upper bounds in seconds; one more bucket counts everything slower. Shared with /metrics. */
export const LATENCY_BUCKETS_SECONDS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300] as const;

export interface MinuteCounts {
  /** Start of the minute (UTC). */
  minute: Date;
  direction: SyncDirection;
  syncs: number;
  errors: number;
  /** Counts per LATENCY_BUCKETS_SECONDS bucket, plus the overflow bucket: length = bounds + 1. */
  latencyBuckets: number[];
}

export function emptyBuckets(): number[] {
  return new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0);
}

export function bucketIndex(seconds: number): number {
  const i = LATENCY_BUCKETS_SECONDS.findIndex((bound) => seconds <= bound);
  return i === -1 ? LATENCY_BUCKETS_SECONDS.length : i;
}

export function minuteOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 60_000) * 60_000);
}

/**
 * The q-quantile (0 < q ≤ 1) of the latencies counted in `buckets`, interpolated linearly inside
 * its bucket (as Prometheus' histogram_quantile does); null when nothing was counted. A quantile in
 * the overflow bucket is reported as the largest bound.
 */
export function quantile(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i] ?? 0;
    if (count > 0 && seen + count >= rank) {
      if (i >= LATENCY_BUCKETS_SECONDS.length) return LATENCY_BUCKETS_SECONDS.at(-1)!;
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_SECONDS[i - 1];
      const upper = LATENCY_BUCKETS_SECONDS[i];
      return lower + (upper - lower) * ((rank - seen) / count);
    }
    seen += count;
  }
  return LATENCY_BUCKETS_SECONDS.at(-1)!;
}

/** What this instance counted since the last flush. */
export class SyncRollup {
  readonly #minutes = new Map<string, MinuteCounts>();

  #entry(direction: SyncDirection, at: Date): MinuteCounts {
    const minute = minuteOf(at);
    const key = `${minute.getTime()}|${direction}`;
    let entry = this.#minutes.get(key);
    if (!entry) {
      entry = { minute, direction, syncs: 0, errors: 0, latencyBuckets: emptyBuckets() };
      this.#minutes.set(key, entry);
    }
    return entry;
  }

  /** One write to the other side, `seconds` after the change it carries (null: not timed). */
  sync(direction: SyncDirection, seconds: number | null, at: Date): void {
    const entry = this.#entry(direction, at);
    entry.syncs += 1;
    if (seconds !== null) entry.latencyBuckets[bucketIndex(Math.max(0, seconds))] += 1;
  }

  /** One failed job attempt. */
  error(direction: SyncDirection, at: Date): void {
    this.#entry(direction, at).errors += 1;
  }

  /** Everything counted so far; the rollup starts empty again. */
  drain(): MinuteCounts[] {
    const entries = [...this.#minutes.values()];
    this.#minutes.clear();
    return entries;
  }

  /** Puts entries back after a failed flush, so the next flush adds them. */
  restore(entries: readonly MinuteCounts[]): void {
    for (const e of entries) {
      const entry = this.#entry(e.direction, e.minute);
      entry.syncs += e.syncs;
      entry.errors += e.errors;
      e.latencyBuckets.forEach((n, i) => (entry.latencyBuckets[i] += n));
    }
  }
}

export type ChartRange = 'hour' | 'day';
export const RANGES: Record<ChartRange, { minutes: number; stepMinutes: number }> = {
  hour: { minutes: 60, stepMinutes: 1 },
  day: { minutes: 24 * 60, stepMinutes: 15 },
};

export interface ChartSlot {
  /** Start of the slot (ISO). */
  at: string;
  inbound: number;
  outbound: number;
  errors: number;
  /** Seconds, over both directions; null when the slot had no sync. */
  p50: number | null;
  p95: number | null;
}

export interface ChartSeries {
  range: ChartRange;
  stepMinutes: number;
  slots: ChartSlot[];
  totals: { inbound: number; outbound: number; errors: number; p50: number | null; p95: number | null };
}

/** Minute rows → the fixed slots of a range ending at `now` (empty slots included, oldest first). */
export function chartSeries(rows: readonly MinuteCounts[], range: ChartRange, now: Date): ChartSeries {
  const { minutes, stepMinutes } = RANGES[range];
  const step = stepMinutes * 60_000;
  const end = Math.floor(now.getTime() / step) * step + step;
  const start = end - minutes * 60_000;
  const count = minutes / stepMinutes;
  const slots = Array.from({ length: count }, (_, i) => ({
    at: new Date(start + i * step).toISOString(),
    inbound: 0,
    outbound: 0,
    errors: 0,
    buckets: emptyBuckets(),
  }));
  const all = emptyBuckets();
  for (const row of rows) {
    const i = Math.floor((row.minute.getTime() - start) / step);
    const slot = slots[i];
    if (i < 0 || !slot) continue;
    slot[row.direction] += row.syncs;
    slot.errors += row.errors;
    row.latencyBuckets.forEach((n, b) => {
      slot.buckets[b] += n;
      all[b] += n;
    });
  }
  const sum = (key: 'inbound' | 'outbound' | 'errors') => slots.reduce((a, s) => a + s[key], 0);
  return {
    range,
    stepMinutes,
    slots: slots.map(({ buckets, ...slot }) => ({
      ...slot,
      p50: quantile(buckets, 0.5),
      p95: quantile(buckets, 0.95),
    })),
    totals: {
      inbound: sum('inbound'),
      outbound: sum('outbound'),
      errors: sum('errors'),
      p50: quantile(all, 0.5),
      p95: quantile(all, 0.95),
    },
  };
}
