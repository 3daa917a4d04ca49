import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { startEmbeddedPostgres } from './embeddedPostgres.ts';
import { migrate } from './migrate.ts';

/**
 * A small pool for one CLI command or start-up step. A lost connection fails the query that used
 * it; without these listeners it would end the process (graphile-worker warns about their absence).
 */
export function openCommandPool(connectionString: string, max = 2): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export interface Database {
  pool: pg.Pool;
  connectionString: string;
  embedded: boolean;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Production: DATABASE_URL. Unset: an embedded cluster in embeddedDir. */
  databaseUrl?: string;
  embeddedDir: string;
  embeddedPort: number;
  poolSize?: number;
  /**
   * Start the embedded database empty. Sandbox mode does: its simulated clouds start empty on
   * every run, so links, replay ids and tokens from a previous run would point at nothing.
   */
  freshEmbedded?: boolean;
  logger: Logger;
}

const EMBEDDED_DATABASE = 'cosell';

/** Opens the relay's database (starting embedded PostgreSQL when no URL is given) and migrates it. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  let connectionString = options.databaseUrl;
  let stopCluster: (() => Promise<void>) | undefined;
  if (!connectionString) {
    const cluster = await startEmbeddedPostgres({
      dataDir: path.resolve(options.embeddedDir),
      port: options.embeddedPort,
      persistent: true,
      logger: options.logger,
    });
    stopCluster = cluster.stop;
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    try {
      if (options.freshEmbedded)
        await admin.query(`drop database if exists ${EMBEDDED_DATABASE} with (force)`);
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [
        EMBEDDED_DATABASE,
      ]);
      if (!rowCount) await admin.query(`create database ${EMBEDDED_DATABASE}`);
    } finally {
      await admin.end();
    }
    connectionString = cluster.urlFor(EMBEDDED_DATABASE);
    options.logger.info(
      { dataDir: options.embeddedDir, port: options.embeddedPort },
      'embedded PostgreSQL started',
    );
  }
  const pool = new pg.Pool({ connectionString, max: options.poolSize ?? 20 });
  pool.on('error', (error) => options.logger.error({ err: error.message }, 'idle PostgreSQL client failed'));
  // A checked-out client whose server connection dies must not crash the process; its query fails instead.
  pool.on('connect', (client) =>
    client.on('error', (error) =>
      options.logger.warn({ err: error.message }, 'PostgreSQL connection failed'),
    ),
  );
  // pool.end() resolves once every client was asked to close, not once they have: stopping the
  // embedded server before then made each of them fail with an error line.
  const open = new Set<pg.PoolClient>();
  pool.on('connect', (client) => open.add(client));
  const closed = new Promise<void>((resolve) => {
    pool.on('remove', (client) => {
      open.delete(client);
      if (pool.ending && open.size === 0) resolve();
    });
  });
  await migrate(pool, options.logger);
  return {
    pool,
    connectionString,
    embedded: Boolean(stopCluster),
    async close() {
      await pool.end();
      if (open.size > 0) await closed;
      await stopCluster?.();
    },
  };
}

/** SQLSTATE classes and codes, and socket codes, that mean the server went away, not that a query was wrong. */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03']);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * True when an error says the PostgreSQL connection was lost or refused (a restart, a failover, a
 * network cut) rather than anything about the statement: the pool reconnects on its next use.
 */
/** The status's database check: whether the database answers, and why not when it does not. */
export async function checkDatabase(pool: pg.Pool): Promise<{ ok: boolean; detail?: string }> {
  return pool.query('select 1').then(
    () => ({ ok: true }),
    (error: Error) => ({ ok: false, detail: `database unreachable: ${error.message}` }),
  );
}

export function isDatabaseConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (CONNECTION_SQLSTATES.has(code) || code.startsWith('08') || SOCKET_CODES.has(code)) return true;
  }
  return /^Connection terminated( unexpectedly| due to connection timeout)?$/.test(error.message);
}
