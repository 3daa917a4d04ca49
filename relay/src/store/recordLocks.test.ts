import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../../../tests/support/postgres.ts';
import { silentLogger } from '../logger.ts';
import { createRecordLocks } from './recordLocks.ts';

test('a record lock held by one relay instance is refused to another, and to the same one, until its job ends', async () => {
  const url = await createTestDatabase('record_locks');
  const first = createRecordLocks(url, silentLogger());
  const second = createRecordLocks(url, silentLogger());
  try {
    let release!: () => void;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (release = resolve));
    const holding = new Promise<void>((resolve) => (started = resolve));
    const held = first.tryRun('pc:ref-1', () => {
      started();
      return running;
    });
    // Once the first holds it, every other taker is refused at once; nobody blocks.
    await holding;
    assert.deepEqual(await second.tryRun('pc:ref-1', async () => 'ran'), { acquired: false });
    assert.deepEqual(await first.tryRun('pc:ref-1', async () => 'ran'), { acquired: false });
    assert.deepEqual(await second.tryRun('pc:ref-2', async () => 'other record'), {
      acquired: true,
      value: 'other record',
    });
    release();
    assert.deepEqual(await held, { acquired: true, value: undefined });
    assert.deepEqual(await second.tryRun('pc:ref-1', async () => 'ran'), { acquired: true, value: 'ran' });
  } finally {
    await first.close();
    await second.close();
  }
});
