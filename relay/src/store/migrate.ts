import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { Logger } from '../logger.ts';

const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../sql');
// Any constant works; it only has to be the same for every relay instance sharing a database.
const MIGRATION_LOCK = 0x636f73656c6c;

/**
 * The migrations this relay ships and those not yet applied to `pool`'s database (all of them on a
 * database never migrated). Throws what the database answered when it cannot be asked.
 */
export async function pendingMigrations(pool: pg.Pool): Promise<{ all: string[]; pending: string[] }> {
  const all = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{6}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const { rows } = await pool
    .query<{ name: string }>('select name from public.cosell_migrations')
    .catch((error: Error & { code?: string }) => {
      // 42P01: no such table, a database the relay never migrated.
      if (error.code === '42P01') return { rows: [] };
      throw error;
    });
  const applied = new Set(rows.map((r) => r.name));
  return { all, pending: all.filter((f) => !applied.has(f)) };
}

/**
 * Applies relay/sql/NNNNNN_name.sql files in order, each in its own transaction, under an advisory
 * lock so instances starting together do not race. Forward-only: an applied file is never re-run.
 */
export async function migrate(pool: pg.Pool, logger?: Logger): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{6}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      `create table if not exists public.cosell_migrations (name text primary key, applied_at timestamptz not null default now())`,
    );
    const { rows } = await client.query<{ name: string }>('select name from public.cosell_migrations');
    const done = new Set(rows.map((r) => r.name));
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(path.join(MIGRATIONS_DIR, file), 'utf8');
      await client.query('begin');
      try {
        await client.query(sql);
        await client.query('insert into public.cosell_migrations (name) values ($1)', [file]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new Error(`Migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(file);
      logger?.info({ migration: file }, 'applied migration');
    }
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}
