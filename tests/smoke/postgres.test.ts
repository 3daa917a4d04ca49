import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase } from '../support/postgres.ts';

test('each test gets its own empty database on the shared embedded cluster', async () => {
  const [a, b] = await Promise.all([createTestDatabase('smoke_a'), createTestDatabase('smoke_b')]);
  assert.notEqual(a, b);
  const client = new pg.Client({ connectionString: a });
  await client.connect();
  try {
    await client.query('create table marker (id int)');
    const other = new pg.Client({ connectionString: b });
    await other.connect();
    const { rows } = await other.query(`select count(*)::int as n from pg_tables where tablename = 'marker'`);
    await other.end();
    assert.equal(rows[0].n, 0);
  } finally {
    await client.end();
  }
});
