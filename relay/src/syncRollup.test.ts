import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bucketIndex,
  chartSeries,
  emptyBuckets,
  LATENCY_BUCKETS_SECONDS,
  quantile,
  SyncRollup,
} from './syncRollup.ts';

describe('sync rollup', () => {
  test('a latency falls in the first bucket whose bound it does not exceed; slower ones overflow', () => {
    assert.equal(bucketIndex(0), 0);
    assert.equal(bucketIndex(0.05), 0);
    assert.equal(bucketIndex(0.051), 1);
    assert.equal(bucketIndex(1), LATENCY_BUCKETS_SECONDS.indexOf(1));
    assert.equal(bucketIndex(10_000), LATENCY_BUCKETS_SECONDS.length);
  });

  test('quantiles interpolate inside the bucket and are null without observations', () => {
    assert.equal(quantile(emptyBuckets(), 0.5), null);
    const b = emptyBuckets();
    b[bucketIndex(0.15)] = 10; // (0.1, 0.2]
    assert.equal(quantile(b, 0.5), 0.15000000000000002);
    assert.equal(quantile(b, 1), 0.2);
    b[LATENCY_BUCKETS_SECONDS.length] = 90;
    assert.equal(quantile(b, 0.95), 300);
  });

  test('quantiles never decrease with q and stay within the bounds (any bucket counts)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(50), {
          minLength: LATENCY_BUCKETS_SECONDS.length + 1,
          maxLength: LATENCY_BUCKETS_SECONDS.length + 1,
        }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (buckets, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const qlo = quantile(buckets, lo);
          const qhi = quantile(buckets, hi);
          if (buckets.every((n) => n === 0)) return qlo === null && qhi === null;
          return qlo !== null && qhi !== null && qlo <= qhi + 1e-9 && qlo >= 0 && qhi <= 300;
        },
      ),
    );
  });

  test('the rollup counts per minute and direction, and drains once', () => {
    const rollup = new SyncRollup();
    const at = new Date('2026-03-01T10:15:42Z');
    rollup.sync('inbound', 0.12, at);
    rollup.sync('inbound', null, new Date('2026-03-01T10:15:59Z'));
    rollup.sync('outbound', 0.4, at);
    rollup.error('inbound', new Date('2026-03-01T10:16:01Z'));
    const entries = rollup.drain();
    assert.deepEqual(
      entries.map((e) => [
        e.minute.toISOString(),
        e.direction,
        e.syncs,
        e.errors,
        e.latencyBuckets.reduce((a, n) => a + n, 0),
      ]),
      [
        ['2026-03-01T10:15:00.000Z', 'inbound', 2, 0, 1],
        ['2026-03-01T10:15:00.000Z', 'outbound', 1, 0, 1],
        ['2026-03-01T10:16:00.000Z', 'inbound', 0, 1, 0],
      ],
    );
    assert.deepEqual(rollup.drain(), []);
    rollup.restore(entries);
    assert.equal(rollup.drain().length, 3);
  });

  test('the hour chart has 60 one-minute slots ending now, with counts and quantiles in the right slot', () => {
    const now = new Date('2026-03-01T11:00:30Z');
    const buckets = emptyBuckets();
    buckets[bucketIndex(0.25)] = 4;
    const series = chartSeries(
      [
        {
          minute: new Date('2026-03-01T10:58:00Z'),
          direction: 'inbound',
          syncs: 4,
          errors: 1,
          latencyBuckets: buckets,
        },
        {
          minute: new Date('2026-03-01T10:58:00Z'),
          direction: 'outbound',
          syncs: 2,
          errors: 0,
          latencyBuckets: emptyBuckets(),
        },
        // Outside the range: ignored.
        {
          minute: new Date('2026-03-01T09:00:00Z'),
          direction: 'inbound',
          syncs: 9,
          errors: 9,
          latencyBuckets: buckets,
        },
      ],
      'hour',
      now,
    );
    assert.equal(series.slots.length, 60);
    assert.equal(series.slots.at(-1)?.at, '2026-03-01T11:00:00.000Z');
    const slot = series.slots.find((s) => s.at === '2026-03-01T10:58:00.000Z');
    assert.deepEqual(
      { inbound: slot?.inbound, outbound: slot?.outbound, errors: slot?.errors },
      { inbound: 4, outbound: 2, errors: 1 },
    );
    assert.ok(slot?.p50 && slot.p50 > 0.2 && slot.p50 <= 0.3);
    assert.deepEqual(series.totals.inbound + series.totals.outbound + series.totals.errors, 7);
    assert.equal(series.slots.filter((s) => s.p50 !== null).length, 1);
  });

  test('the day chart has 96 slots of 15 minutes', () => {
    const series = chartSeries([], 'day', new Date('2026-03-01T11:07:00Z'));
    assert.equal(series.slots.length, 96);
    assert.equal(series.stepMinutes, 15);
    assert.equal(series.slots.at(-1)?.at, '2026-03-01T11:00:00.000Z');
  });
});
