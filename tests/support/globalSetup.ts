import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../relay/src/store/embeddedPostgres.ts';
import type { RunningCluster } from '../../relay/src/store/embeddedPostgres.ts';

// One embedded PostgreSQL cluster for the whole `node --test` run; test files inherit its URL
// through the environment and take a fresh database each (postgres.ts).
let cluster: RunningCluster | undefined;

/** A port nothing listens on right now (asked of the OS, so it cannot clash with a busy one). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function globalSetup(): Promise<void> {
  const port = await freePort();
  const dataDir = path.join(os.tmpdir(), `cosell-test-cluster-${process.pid}`);
  cluster = await startEmbeddedPostgres({ dataDir, port, persistent: false });
  process.env.COSELL_TEST_PG_ADMIN_URL = cluster.adminUrl;
}

export async function globalTeardown(): Promise<void> {
  await cluster?.stop();
}
