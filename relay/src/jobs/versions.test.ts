import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isOlderThan, versionTime } from './versions.ts';

test('a version is older only when both are known and it is earlier by more than the storage rounding', () => {
  assert.equal(isOlderThan('2026-12-02T10:00:00.000Z', '2026-12-02T10:00:01.000Z'), true);
  assert.equal(isOlderThan('2026-12-02T10:00:01.000Z', '2026-12-02T10:00:00.000Z'), false);
  assert.equal(isOlderThan(null, new Date()), false, 'no version: nothing to compare');
  assert.equal(isOlderThan('2026-12-02T10:00:00.000Z', null), false, 'nothing synced yet');
  assert.equal(isOlderThan('not a date', new Date()), false);
  // Salesforce's SystemModstamp form and an event's epoch-ms CreatedDate compare with ISO strings.
  assert.equal(versionTime('2026-12-02T10:00:00.000+0000'), Date.parse('2026-12-02T10:00:00.000Z'));
  assert.equal(isOlderThan(Date.parse('2026-12-02T09:59:59.000Z'), '2026-12-02T10:00:00.000+0000'), true);
});

test('a Partner Center version is never older than itself as stored on the link (100 ns → µs rounding → ms)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1_000_000_000 }),
      // 100-ns ticks within the millisecond, often the last few, which round up into the next one.
      fc.oneof(fc.integer({ min: 9_995, max: 9_999 }), fc.integer({ min: 0, max: 9_999 })),
      (milliseconds, subTicks) => {
        const ticks = milliseconds * 10_000 + subTicks;
        // updatedDateTime with 7 fractional digits, as Partner Center writes it.
        const seconds = Math.floor(ticks / 10_000_000);
        const fraction = String(ticks % 10_000_000).padStart(7, '0');
        const text = `${new Date(Date.UTC(2026, 0, 1) + seconds * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
        // What PostgreSQL keeps (microseconds, rounded) read back as a JavaScript Date (milliseconds).
        const micros = Math.round(ticks / 10);
        const stored = new Date(Date.UTC(2026, 0, 1) + Math.floor(micros / 1000));
        return !isOlderThan(text, stored);
      },
    ),
  );
});
