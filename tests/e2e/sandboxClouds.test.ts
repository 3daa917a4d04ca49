import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../support/relayHarness.ts';
import { NODE, spawnRelay } from '../support/relayProcess.ts';
import type { RelayProcess } from '../support/relayProcess.ts';
import { freePort } from '../support/ports.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * The README's production rehearsal, command by command, without editing a file: `npm run
 * sandboxes` writes the env file, then the operator's one-time steps (migrate, `relay login`
 * through the browser redirect, `webhooks register`), `npm start` and `relay doctor` run on it in
 * production mode. The machine's GRPC_DEFAULT_SSL_ROOTS_FILE_PATH is passed on, as a shell would,
 * to prove grpc-js trusts the same store as everything else.
 */

const BIN = path.join(ROOT, 'node_modules/.bin');

interface Run {
  code: number | null;
  output: string;
}

const running = new Set<ChildProcess>();

function run(
  command: string[],
  env: Record<string, string>,
  onOutput?: (text: string) => void,
): Promise<Run> {
  const child = spawn(command[0], command.slice(1), {
    cwd: ROOT,
    env: { HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const take = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    onOutput?.(output);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  running.add(child);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      running.delete(child);
      resolve({ code, output });
    }),
  );
}

/** What a browser does with the sign-in address: GET it over TLS (trusting `caPem`), return the redirect. */
function openInBrowser(url: string, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: caPem }, (response) => {
        response.resume();
        const location = response.headers.location;
        if (location) resolve(location);
        else reject(new Error(`the authority answered HTTP ${response.statusCode} without a redirect`));
      })
      .on('error', reject);
  });
}

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

describe('a production-mode rehearsal against `npm run sandboxes`', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cosell-clouds-'));
  let clouds: ChildProcess;
  let cloudsClosed: Promise<unknown>;
  let env: Record<string, string>;
  let relay: RelayProcess | undefined;

  before(async () => {
    const port = await freePort();
    const databaseUrl = await createTestDatabase('clouds');
    clouds = spawn(NODE, ['scripts/sandboxClouds.ts', '--dir', dir, '--port', String(port)], {
      cwd: ROOT,
      // The operator's own database, as on a platform (the script's embedded one is for a laptop).
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    clouds.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    clouds.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    cloudsClosed = new Promise((resolve) => clouds.once('close', resolve));
    await waitFor(
      () => {
        if (clouds.exitCode !== null) throw new Error(`npm run sandboxes exited: ${output}`);
        return /Ctrl-C stops the clouds/.test(output);
      },
      { timeoutMs: 60_000, message: 'the simulated clouds to come up' },
    );
    env = {
      ...parseEnvFile(readFileSync(path.join(dir, 'production.env'), 'utf8')),
      PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}`,
      GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: '/etc/ssl/certs/ca-certificates.crt',
    };
  });
  after(async () => {
    relay?.kill('SIGKILL');
    await relay?.exited;
    for (const child of running) child.kill('SIGKILL');
    clouds?.kill('SIGTERM');
    await cloudsClosed;
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes single-line production settings with every secret file private', () => {
    assert.equal(env.COSELL_MODE, 'production');
    for (const key of ['PC_REFERRALS_BASE_URL', 'ENTRA_AUTHORITY_HOST', 'SF_LOGIN_URL'])
      assert.match(env[key], /^https:\/\//, key);
    assert.match(env.TOKEN_CACHE_KEY, /^[0-9a-f]{64}$/);
    for (const name of ['production.env', 'trusted-roots.pem', 'certificate-fetch-ca.pem'])
      assert.equal(statSync(path.join(dir, name)).mode & 0o777, 0o600, name);
  });

  it('takes the one-time steps: migrate, login through the browser redirect, webhooks register', async () => {
    const migrated = await run(['npm', 'run', '-s', 'relay:migrate'], env);
    assert.equal(migrated.code, 0, migrated.output);

    // The "browser": open the printed address; the sandbox authority approves its user and
    // redirects to the loopback address `relay login` waits on.
    let opened = false;
    const login = run(['npm', 'run', '-s', 'relay', '--', 'login'], env, (output) => {
      const url = /^\s+(https:\/\/\S+authorize\S+)$/m.exec(output)?.[1];
      if (!url || opened || !/Waiting for the browser/.test(output)) return;
      opened = true;
      void openInBrowser(url, readFileSync(env.NODE_EXTRA_CA_CERTS, 'utf8')).then((back) => fetch(back));
    });
    const signedIn = await login;
    assert.equal(signedIn.code, 0, signedIn.output);
    assert.match(signedIn.output, /Signed in to Partner Center as /);

    const registered = await run(['npm', 'run', '-s', 'relay', '--', 'webhooks', 'register', '--yes'], env);
    assert.equal(registered.code, 0, registered.output);
    assert.match(registered.output, new RegExp(`${env.PUBLIC_URL}/webhooks/partner-center`));
  });

  it('starts with `npm start`, is ready, and `relay doctor` passes every check', async () => {
    relay = spawnRelay(env, ['npm', 'start']);
    await relay.ready(60_000);
    await waitFor(
      async () => {
        const ready = await fetch(`${relay!.url}/readyz`);
        return ready.status === 200;
      },
      { timeoutMs: 30_000, message: 'every readiness check to pass (Pub/Sub subscribed over TLS)' },
    );
    const doctor = await run(['npm', 'run', '-s', 'relay', '--', 'doctor'], env);
    assert.equal(doctor.code, 0, doctor.output);
    assert.match(doctor.output, /ok\s+Pub\/Sub topic and schema/);
    assert.match(doctor.output, /All checks passed/);
    relay.kill('SIGTERM');
    await relay.exited;
    assert.match(relay.output(), /"msg":"stopped"/);
    assert.ok(!/"level":(40|50|60)/.test(relay.output()), relay.output());
    relay = undefined;
  });
});
