import pg from 'pg';

export interface NamedLocks {
  /**
   * Runs `work` while holding a session-level advisory lock on `name`, so relay instances sharing
   * the database do it one at a time (creating one Opportunity's referral, matching-or-creating
   * one customer's Account). There is no surrounding transaction: what `work` writes through the
   * main pool is visible to other jobs at once.
   */
  run<T>(name: string, work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Advisory locks on their own small pool. A holder keeps its connection while `work` calls
 * Partner Center or Salesforce, and `work` itself needs the main pool (links, the token cache):
 * were holders to take main-pool connections, enough of them would leave none for the work they
 * wait on. A crashed process's locks die with its connections.
 */
export function createNamedLocks(connectionString: string, size = 10): NamedLocks {
  const pool = new pg.Pool({ connectionString, max: size });
  pool.on('error', () => undefined);
  // A holder's connection cut by a PostgreSQL restart fails its query; without a listener on the
  // checked-out client, its 'error' event would end the process (found by chaos seed 1).
  pool.on('connect', (client) => client.on('error', () => undefined));
  return {
    async run(name, work) {
      const client = await pool.connect();
      let locked = false;
      try {
        await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [name]);
        locked = true;
        return await work();
      } finally {
        const unlocked = locked
          ? await client
              .query('select pg_advisory_unlock(hashtextextended($1, 0))', [name])
              .then(() => true)
              .catch(() => false)
          : true;
        // A connection whose unlock failed may still hold the lock: close it rather than reuse it.
        client.release(unlocked ? undefined : true);
      }
    },
    close: () => pool.end(),
  };
}
