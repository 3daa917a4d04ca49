/**
 * `npm run sandboxes` — the simulated clouds for a production-mode rehearsal. Starts Entra, Partner
 * Center (with its certificate host), Salesforce REST and Pub/Sub, every one over TLS, plus a
 * PostgreSQL for the relay (embedded, unless DATABASE_URL is set), and writes the production
 * settings that point at them to an env file. Nothing in the relay knows they are simulators: the
 * relay started with that file runs COSELL_MODE=production, and the one-time `relay login` and
 * `relay webhooks register` go through their production code too.
 *
 *   npm run sandboxes -- [--dir .data/clouds] [--port 3000]
 *   set -a; . .data/clouds/production.env; set +a
 *   npm run relay:migrate && npm run relay -- login && npm run relay -- webhooks register --yes
 *   npm start                       # or: docker run --env-file .data/clouds/production.env --network host cosell-relay
 *
 * Runs until Ctrl-C (the clouds and their state are gone then; a new run writes a new file).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startSandboxes } from '../relay/sandbox/index.ts';
import { sandboxProductionEnv } from '../relay/sandbox/productionEnv.ts';
import { startEmbeddedPostgres } from '../relay/src/store/embeddedPostgres.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '.data/clouds' },
    port: { type: 'string', default: '3000' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: npm run sandboxes -- [--dir <folder for the env file>] [--port <relay PORT>]');
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`--port: expected a TCP port, got ${JSON.stringify(values.port)}`);
  process.exit(2);
}
const dir = path.resolve(ROOT, values.dir!);
// The folder stays enterable (the postgres user keeps its data inside it when run as root); every
// file holding a secret is 0600.
mkdirSync(dir, { recursive: true });

const sandboxes = await startSandboxes({
  forceAppDir: path.join(ROOT, 'force-app'),
  https: true,
  caFile: path.join(dir, 'sandbox-ca.pem'),
});

let stopPostgres: (() => Promise<void>) | undefined;
let databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  const cluster = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'postgres'),
    port: await freePort(),
    persistent: false,
  });
  stopPostgres = () => cluster.stop();
  const admin = new pg.Pool({ connectionString: cluster.adminUrl, max: 1 });
  await admin.query('create database cosell');
  await admin.end();
  databaseUrl = cluster.urlFor('cosell');
}

const env = sandboxProductionEnv(sandboxes, {
  databaseUrl,
  port,
  loginPort: await freePort(),
  tokenCacheKey: randomBytes(32).toString('hex'),
  adminToken: randomBytes(24).toString('base64url'),
  writeFile(name, text) {
    const file = path.join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  },
});
const envFile = path.join(dir, 'production.env');
writeFileSync(
  envFile,
  [
    '# Production settings pointing at the simulated clouds of `npm run sandboxes` (valid while it runs).',
    ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
    '',
  ].join('\n'),
  { mode: 0o600 },
);
chmodSync(envFile, 0o600);

const relative = path.relative(process.cwd(), envFile) || envFile;
console.log(`Simulated clouds are up, every endpoint over TLS. Production settings: ${relative}`);
console.log('');
console.log(`  set -a; . ${relative}; set +a`);
console.log('  npm run relay:migrate && npm run relay -- login && npm run relay -- webhooks register --yes');
console.log('  npm start');
console.log('');
console.log('Ctrl-C stops the clouds.');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await sandboxes.close();
  await stopPostgres?.();
  rmSync(envFile, { force: true });
  process.exitCode = 0;
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
