import pg from 'pg';
import type { Logger } from '../logger.ts';

export type LockAttempt<T> = { acquired: true; value: T } | { acquired: false };

export interface RecordLocks {
  /**
   * Runs `work` holding the lock on `key` for its whole duration, or returns `{ acquired: false }`
   * at once when another job holds it, in this process or in any relay instance on the database.
   */
  tryRun<T>(key: string, work: () => Promise<T>): Promise<LockAttempt<T>>;
  /** Keys held by this process right now. */
  held(): number;
  close(): Promise<void>;
}

/**
 * Per-record session advisory locks, all on one dedicated connection. One session can hold any
 * number of advisory locks, and only non-blocking `pg_try_advisory_lock` is used, so 200 concurrent
 * jobs need one connection rather than 200 (a pool of holders, as in namedLock.ts, would need a
 * connection per running job). The same session may take a lock it holds again, so the keys held
 * here are tracked in process too. A crashed process's locks die with its connection; if the
 * connection itself drops, its locks are gone and the next use opens a new one.
 */
export function createRecordLocks(connectionString: string, logger: Logger): RecordLocks {
  const held = new Set<string>();
  let client: Promise<pg.Client> | null = null;
  let closed = false;

  const connection = (): Promise<pg.Client> => {
    if (closed) return Promise.reject(new Error('record locks are closed'));
    client ??= (async () => {
      const c = new pg.Client({ connectionString });
      c.on('error', (error) => {
        logger.warn(
          { err: error.message, held: held.size },
          'record lock connection lost; its locks are gone',
        );
        client = null;
        void c.end().catch(() => undefined);
      });
      try {
        await c.connect();
      } catch (error) {
        client = null;
        throw error;
      }
      return c;
    })();
    return client;
  };
  // A distinct namespace from namedLock.ts's names, so a record key never meets a create lock.
  const lockSql = (fn: string) => `select ${fn}(hashtextextended('record:' || $1, 0)) as ok`;
  // One query at a time on the shared connection (pg stops queueing them for the caller in v9).
  let queue: Promise<unknown> = Promise.resolve();
  const lockQuery = (c: pg.Client, fn: string, key: string): Promise<boolean> => {
    const run = queue.then(
      async () => (await c.query<{ ok: boolean }>(lockSql(fn), [key])).rows[0]?.ok === true,
    );
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    async tryRun(key, work) {
      if (held.has(key)) return { acquired: false };
      held.add(key);
      let c: pg.Client;
      try {
        c = await connection();
        if (!(await lockQuery(c, 'pg_try_advisory_lock', key))) {
          held.delete(key);
          return { acquired: false };
        }
      } catch (error) {
        held.delete(key);
        throw error;
      }
      try {
        return { acquired: true, value: await work() };
      } finally {
        held.delete(key);
        // When the connection was replaced meanwhile, the lock died with the old one.
        if ((await client?.catch(() => null)) === c)
          await lockQuery(c, 'pg_advisory_unlock', key).catch(() => undefined);
      }
    },
    held: () => held.size,
    async close() {
      closed = true;
      const c = await client?.catch(() => null);
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
