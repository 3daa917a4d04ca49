import type pg from 'pg';

/**
 * Runs `work` while holding a transaction-scoped advisory lock on `name`, so relay instances
 * sharing the database do it one at a time (matching-or-creating one customer's Account, say).
 * The lock holds a pool connection for the duration: keep `work` short.
 */
export async function withNamedLock<T>(pool: pg.Pool, name: string, work: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [name]);
    const result = await work();
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
