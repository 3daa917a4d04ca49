import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase } from '../../../tests/support/postgres.ts';
import { migrate } from './migrate.ts';
import { enqueue, installQueueSchema, TASKS } from './queue.ts';
import {
  closeDeadLetter,
  dropDeadLetter,
  hasOpenDeadLetter,
  listDeadLetters,
  recordDeadLetter,
  retryDeadLetter,
} from './deadLetters.ts';
import type { GiveUp } from './deadLetters.ts';

async function freshPool() {
  const pool = new pg.Pool({ connectionString: await createTestDatabase('deadletters') });
  await migrate(pool);
  await installQueueSchema(pool);
  return pool;
}

const giveUp = (jobId: string, referralId: string, error = 'SF_RECORD_ERROR: refused'): GiveUp => ({
  jobId,
  direction: 'inbound',
  recordId: referralId,
  task: TASKS.referralChanged,
  jobKey: `pc:${referralId}`,
  payload: { referralId, reason: 'reconcile' },
  referralId,
  error,
  permanent: true,
  attempts: 1,
  maxAttempts: 10,
});

test('a record that keeps failing has one open dead letter, updated by every failure; a success closes it', async () => {
  const pool = await freshPool();
  try {
    const first = await recordDeadLetter(pool, giveUp('101', 'ref-a'));
    assert.deepEqual(first, { id: '101', failures: 1, previousError: null });
    // Thirteen jobs giving up on two records (every reconcile and backfill re-enqueues them): two dead letters.
    for (let job = 102; job <= 113; job++)
      await recordDeadLetter(pool, giveUp(String(job), job % 2 ? 'ref-a' : 'ref-b'));
    const open = await listDeadLetters(pool);
    assert.deepEqual(open.map((letter) => [letter.recordId, letter.failures]).sort(), [
      ['ref-a', 7],
      ['ref-b', 6],
    ]);
    const again = await recordDeadLetter(pool, giveUp('114', 'ref-a', 'SF_RECORD_ERROR: another reason'));
    assert.deepEqual(again, { id: '101', failures: 8, previousError: 'SF_RECORD_ERROR: refused' });

    assert.equal(await closeDeadLetter(pool, 'inbound', 'ref-a'), '101');
    assert.equal(await hasOpenDeadLetter(pool, 'inbound', 'ref-a'), false);
    assert.equal(await closeDeadLetter(pool, 'inbound', 'ref-a'), null);
    // A failure after the close opens a new one.
    assert.equal((await recordDeadLetter(pool, giveUp('120', 'ref-a'))).id, '120');
    assert.equal((await listDeadLetters(pool)).length, 2);
  } finally {
    await pool.end();
  }
});

test('a retry re-enqueues the record and hides its dead letter until it fails again; a drop closes it', async () => {
  const pool = await freshPool();
  try {
    await recordDeadLetter(pool, giveUp('201', 'ref-c'));
    const retried = await retryDeadLetter(pool, '201');
    assert.equal(retried?.recordId, 'ref-c');
    const { rows } = await pool.query<{ payload: { reason: string } }>(
      'select payload from graphile_worker._private_jobs where key = $1',
      ['pc:ref-c'],
    );
    assert.equal(rows[0].payload.reason, 'retry');
    assert.deepEqual(await listDeadLetters(pool), []);
    assert.equal(
      await hasOpenDeadLetter(pool, 'inbound', 'ref-c'),
      true,
      'still open until the sync succeeds',
    );
    await recordDeadLetter(pool, giveUp('202', 'ref-c'));
    assert.deepEqual(
      (await listDeadLetters(pool)).map((letter) => letter.id),
      ['201'],
    );

    const dropped = await dropDeadLetter(pool, '201', async () => assert.fail('not a graphile job'));
    assert.equal(dropped?.id, '201');
    assert.equal(await hasOpenDeadLetter(pool, 'inbound', 'ref-c'), false);
    assert.equal(await retryDeadLetter(pool, '201'), null);
    assert.equal(await dropDeadLetter(pool, 'nope', async () => undefined), null);
    // Jobs of other tasks out of attempts are listed beside them.
    await enqueue(pool, TASKS.reconcile, {}, { maxAttempts: 1 });
    await pool.query('update graphile_worker._private_jobs set attempts = max_attempts, last_error = $1', [
      'boom',
    ]);
    const [other] = await listDeadLetters(pool);
    assert.equal(other.task, TASKS.reconcile);
    assert.equal(other.direction, null);
  } finally {
    await pool.end();
  }
});
