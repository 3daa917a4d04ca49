import pg from 'pg';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../relay/src/store/embeddedPostgres.ts';

/**
 * Test databases. The global setup (globalSetup.ts) starts one embedded cluster per test run and
 * exports its admin URL in COSELL_TEST_PG_ADMIN_URL; each test takes a fresh database from it,
 * so test files run in parallel without seeing each other's rows. A test file run on its own
 * (node --test file.ts) starts a private cluster instead.
 */
let privateCluster: Promise<string> | undefined;

async function adminUrl(): Promise<string> {
  const shared = process.env.COSELL_TEST_PG_ADMIN_URL;
  if (shared) return shared;
  privateCluster ??= (async () => {
    const port = 56000 + Math.floor(Math.random() * 4000);
    const dataDir = path.join(os.tmpdir(), `cosell-test-pg-${process.pid}-${port}`);
    const cluster = await startEmbeddedPostgres({ dataDir, port, persistent: false });
    process.once('beforeExit', () => void cluster.stop());
    return cluster.adminUrl;
  })();
  return privateCluster;
}

let counter = 0;

/** Creates an empty database and returns its connection string. */
export async function createTestDatabase(label = 'test'): Promise<string> {
  const admin = await adminUrl();
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase().slice(0, 30)}_${process.pid}_${Date.now()}_${counter++}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}
