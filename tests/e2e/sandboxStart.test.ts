import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { freePort } from '../support/ports.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { ROOT } from '../support/relayHarness.ts';
import { NODE, tempDir } from '../support/relayProcess.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * `npm start` in sandbox mode as a person runs it: `node relay/src/main.ts` in its own process
 * group, stopped the way Ctrl-C stops it (SIGINT to the whole group, so an embedded PostgreSQL
 * started by the relay gets it too).
 */
interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

async function sandboxPorts() {
  // Below the ephemeral range (32768+) that port-0 listeners in other test files draw from.
  return {
    PORT: String(await freePort()),
    SANDBOX_PORT_BASE: String(20000 + Math.floor(Math.random() * 12000)),
  };
}

function start(env: Record<string, string>) {
  const child = spawn(NODE, ['relay/src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${env.PORT}`;
  return {
    url,
    output: () => output,
    exited,
    lines: (): LogLine[] =>
      output
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => {
          try {
            return JSON.parse(l) as LogLine;
          } catch {
            return { level: 60, msg: `not a JSON log line: ${l}` };
          }
        }),
    async ready() {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`the relay exited: ${output}`);
          const ready = await fetch(`${url}/readyz`).catch(() => null);
          return ready?.status === 200;
        },
        { timeoutMs: 90_000, intervalMs: 200, message: `the sandbox relay to be ready\n${output}` },
      );
    },
    ctrlC() {
      process.kill(-child.pid!, 'SIGINT');
    },
    kill() {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    },
  };
}

function warningsAndErrors(lines: LogLine[]): string[] {
  return lines.filter((l) => l.level >= 40).map((l) => JSON.stringify(l));
}

function get(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    request.on('error', reject);
  });
}

describe('sandbox mode: npm start and Ctrl-C', () => {
  const running: Array<ReturnType<typeof start>> = [];
  const files = tempDir('sandbox-start');
  // PostgreSQL runs as its own system user (the relay may run as root): it must reach the folder.
  chmodSync(files.dir, 0o755);
  after(async () => {
    for (const relay of running) relay.kill();
    files.dispose();
  });

  it('logs the mode and the settings given at start, and no WARN or ERROR line from start to Ctrl-C', async () => {
    const pgDir = path.join(files.dir, 'postgres');
    const env = {
      ...(await sandboxPorts()),
      EMBEDDED_PG_DIR: pgDir,
      EMBEDDED_PG_PORT: String(await freePort()),
    };
    const relay = start(env);
    running.push(relay);
    await relay.ready();
    relay.ctrlC();
    assert.equal(await relay.exited, 0, relay.output());
    const lines = relay.lines();
    assert.deepEqual(warningsAndErrors(lines), []);
    assert.equal(lines[0].msg, 'starting in sandbox mode');
    assert.deepEqual(lines[0].settings, {
      PORT: Number(env.PORT),
      SANDBOX_PORT_BASE: Number(env.SANDBOX_PORT_BASE),
      LOG_FORMAT: 'json',
      EMBEDDED_PG_DIR: pgDir,
      EMBEDDED_PG_PORT: Number(env.EMBEDDED_PG_PORT),
    });
    assert.equal(lines.at(-1)?.msg, 'stopped');
    for (const line of relay.output().split('\n').filter(Boolean)) {
      const keys = [...line.matchAll(/"(\w+)":/g)].map((m) => m[1]);
      const top = JSON.parse(line) as Record<string, unknown>;
      assert.equal(
        keys.filter((k) => k in top).length,
        new Set(keys.filter((k) => k in top)).size,
        `duplicate key in ${line}`,
      );
    }
    // The secrets sandbox mode generates stay out of the folder above EMBEDDED_PG_DIR.
    assert.deepEqual(readdirSync(files.dir), ['postgres']);
    assert.ok(existsSync(path.join(ROOT, '.data/sandbox/token-cache.key')));
  });

  it('refuses a DATABASE_URL without COSELL_MODE and leaves that database untouched', async () => {
    const databaseUrl = await createTestDatabase('implicit_sandbox');
    const relay = start({ ...(await sandboxPorts()), DATABASE_URL: databaseUrl });
    running.push(relay);
    assert.equal(await relay.exited, 78, relay.output());
    assert.match(relay.output(), /COSELL_MODE: required when DATABASE_URL is set/);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rowCount } = await db.query("select 1 from pg_namespace where nspname = 'cosell'");
      assert.equal(rowCount, 0, 'no relay schema was created');
    } finally {
      await db.end();
    }
  });

  it('restarts three times in a row on the same DATABASE_URL, listening on 127.0.0.1 with the Host checked', async () => {
    const databaseUrl = await createTestDatabase('sandbox_restart');
    const env = { ...(await sandboxPorts()), COSELL_MODE: 'sandbox', DATABASE_URL: databaseUrl };
    for (let run = 1; run <= 3; run++) {
      const relay = start(env);
      running.push(relay);
      await relay.ready();
      const listening = relay.lines().find((l) => l.msg === 'relay listening');
      assert.equal(listening?.url, `http://127.0.0.1:${env.PORT}`, `run ${run}`);
      assert.equal(await get(`${relay.url}/api/status`, `localhost:${env.PORT}`), 200);
      assert.equal(await get(`${relay.url}/api/status`, `rebound.example:${env.PORT}`), 421);
      relay.ctrlC();
      assert.equal(await relay.exited, 0, `run ${run}:\n${relay.output()}`);
      assert.deepEqual(warningsAndErrors(relay.lines()), [], `run ${run}`);
    }
  });
});
