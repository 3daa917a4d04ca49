import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase } from '../../../tests/support/postgres.ts';
import { migrate } from './migrate.ts';
import { findLinkByOpportunity, findLinkByReferral, pairLink, saveLink } from './links.ts';
import { createTokenCacheStore } from './tokenCache.ts';
import { acceptDelivery } from './webhookReceipts.ts';
import { installQueueSchema, countJobs } from './queue.ts';
import { loadCheckpoint, saveCheckpoint } from './checkpoints.ts';
import { createNamedLocks } from './namedLock.ts';

async function freshPool() {
  const pool = new pg.Pool({ connectionString: await createTestDatabase('store') });
  await migrate(pool);
  await installQueueSchema(pool);
  return pool;
}

test('migrations apply once and are recorded', async () => {
  const pool = await freshPool();
  try {
    assert.deepEqual(await migrate(pool), []);
    const { rows } = await pool.query('select name from public.cosell_migrations');
    assert.ok(rows.some((r) => r.name === '000001_init.sql'));
  } finally {
    await pool.end();
  }
});

test('a link created from Partner Center is completed by its opportunity id', async () => {
  const pool = await freshPool();
  try {
    await saveLink(pool, { referralId: 'ref-1' }, { referralEtag: '"e1"', inboundValues: { Amount: 5 } });
    const link = await saveLink(
      pool,
      { referralId: 'ref-1' },
      { opportunityId: '006000000000001AAA', syncStatus: 'Synced', synced: true },
    );
    assert.equal(link.opportunityId, '006000000000001AAA');
    assert.deepEqual(link.inboundValues, { Amount: 5 });
    assert.ok(link.lastSyncedAt);
    assert.equal((await findLinkByOpportunity(pool, '006000000000001AAA'))?.referralId, 'ref-1');
    assert.equal(await findLinkByReferral(pool, 'nope'), null);
  } finally {
    await pool.end();
  }
});

test('pairing a referral with an Opportunity joins the rows the relay kept for each half', async () => {
  const pool = await freshPool();
  const rowsFor = async (referralId: string, opportunityId: string) =>
    (
      await pool.query(
        'select referral_id, opportunity_id, sync_status, referral_etag, sf_writes_landed from cosell.links where referral_id = $1 or opportunity_id = $2',
        [referralId, opportunityId],
      )
    ).rows;
  try {
    // The Opportunity's row alone (a failed send): it takes the referral.
    await saveLink(
      pool,
      { opportunityId: '006000000000001AAA' },
      { syncStatus: 'Error', lastError: 'no country' },
    );
    await pairLink(pool, 'ref-a', '006000000000001AAA');
    assert.deepEqual(await rowsFor('ref-a', '006000000000001AAA'), [
      {
        referral_id: 'ref-a',
        opportunity_id: '006000000000001AAA',
        sync_status: 'Error',
        referral_etag: null,
        sf_writes_landed: null,
      },
    ]);

    // A row for each half: one row stays, with what the referral's knew; the write count is unknown.
    await saveLink(pool, { opportunityId: '006000000000002AAA' }, { syncStatus: 'Error' });
    await saveLink(pool, { referralId: 'ref-b' }, { referralEtag: '"e7"', syncStatus: 'Error' });
    await pool.query(`update cosell.links set sf_write_seq = 1 where referral_id = 'ref-b'`);
    await pairLink(pool, 'ref-b', '006000000000002AAA');
    assert.deepEqual(await rowsFor('ref-b', '006000000000002AAA'), [
      {
        referral_id: 'ref-b',
        opportunity_id: '006000000000002AAA',
        sync_status: 'Error',
        referral_etag: '"e7"',
        sf_writes_landed: null,
      },
    ]);

    // Already paired with another referral: left alone, for the caller to report.
    await saveLink(pool, { opportunityId: '006000000000003AAA' }, { referralId: 'ref-other' });
    await pairLink(pool, 'ref-c', '006000000000003AAA');
    assert.equal((await findLinkByOpportunity(pool, '006000000000003AAA'))?.referralId, 'ref-other');
    assert.equal(await findLinkByReferral(pool, 'ref-c'), null);

    // Nothing kept for either half: nothing to join.
    await pairLink(pool, 'ref-d', '006000000000004AAA');
    assert.equal(await findLinkByReferral(pool, 'ref-d'), null);
  } finally {
    await pool.end();
  }
});

test('the token cache is stored encrypted and reads back only with the same key', async () => {
  const pool = await freshPool();
  try {
    const key = randomBytes(32);
    const store = createTokenCacheStore(pool, key);
    await store.save('{"RefreshToken":{"secret":"very-secret-refresh-token"}}');
    const { rows } = await pool.query('select ciphertext from cosell.token_cache');
    assert.ok(!rows[0].ciphertext.toString('utf8').includes('very-secret-refresh-token'));
    assert.equal(await store.load(), '{"RefreshToken":{"secret":"very-secret-refresh-token"}}');
    await assert.rejects(createTokenCacheStore(pool, randomBytes(32)).load(), /cannot be decrypted/);
  } finally {
    await pool.end();
  }
});

test('a repeated webhook delivery is acknowledged without a second job', async () => {
  const pool = await freshPool();
  try {
    const delivery = {
      eventName: 'referral-updated',
      referralId: 'r-9',
      changeDate: '2026-11-25T08:00:00.0000000+00:00',
    };
    const first = await acceptDelivery(pool, delivery, { maxAttempts: 5, coalesceMs: 0 });
    const again = await acceptDelivery(pool, delivery, { maxAttempts: 5, coalesceMs: 0 });
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true);
    assert.equal((await countJobs(pool)).queued, 1);
  } finally {
    await pool.end();
  }
});

test('replay ids round-trip as raw bytes', async () => {
  const pool = await freshPool();
  try {
    const replay = Buffer.from([0, 0, 0, 0, 0, 0, 1, 255]);
    await saveCheckpoint(pool, 'pubsub', replay);
    assert.deepEqual(await loadCheckpoint(pool, 'pubsub'), replay);
  } finally {
    await pool.end();
  }
});

test('work under the same named lock runs one at a time, even from separate instances', async () => {
  const url = await createTestDatabase('lock');
  const a = createNamedLocks(url, 2);
  const b = createNamedLocks(url, 2);
  try {
    const events: string[] = [];
    const slow = (label: string, log: string[]) => async () => {
      log.push(`${label} start`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      log.push(`${label} end`);
    };
    await Promise.all([
      a.run('account:contoso|98052', slow('a', events)),
      b.run('account:contoso|98052', slow('b', events)),
    ]);
    assert.deepEqual(
      events.map((e) => e.split(' ')[1]),
      ['start', 'end', 'start', 'end'],
    );
    const other: string[] = [];
    await Promise.all([a.run('account:one|1', slow('a', other)), b.run('account:two|2', slow('b', other))]);
    assert.deepEqual(
      other.slice(0, 2).map((e) => e.split(' ')[1]),
      ['start', 'start'],
      'different names do not wait',
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
