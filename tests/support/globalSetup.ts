import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../relay/src/store/embeddedPostgres.ts';
import type { RunningCluster } from '../../relay/src/store/embeddedPostgres.ts';
import { freePort } from './ports.ts';

// One embedded PostgreSQL cluster for the whole `node --test` run; test files inherit its URL
// through the environment and take a fresh database each (postgres.ts).
let cluster: RunningCluster | undefined;

export async function globalSetup(): Promise<void> {
  const port = await freePort();
  const dataDir = path.join(os.tmpdir(), `cosell-test-cluster-${process.pid}`);
  cluster = await startEmbeddedPostgres({ dataDir, port, persistent: false });
  process.env.COSELL_TEST_PG_ADMIN_URL = cluster.adminUrl;
}

export async function globalTeardown(): Promise<void> {
  await cluster?.stop();
}
