import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../../tests/support/ports.ts';
import { createTestDatabase } from '../../../tests/support/postgres.ts';
import { spawnRelay } from '../../../tests/support/relayProcess.ts';
import { waitFor } from '../../../tests/support/waitFor.ts';
import type { RelayProcess } from '../../../tests/support/relayProcess.ts';
import { SANDBOX_PARTNER_USER } from '../../sandbox/index.ts';
import { trustSandboxCertificate } from '../../sandbox/partner-center/entraAuthority.ts';
import { readSandboxHandoff } from '../sandboxHandoff.ts';
import { ROOT, runCli, startCli } from './testSupport.ts';

/**
 * Every command an operator runs once against the real tenant, rehearsed first in sandbox mode
 * against the simulators of a running `npm start` (here on an explicit sandbox DATABASE_URL).
 */
describe('rehearsing the one-time commands against a running sandbox', () => {
  let relay: RelayProcess;
  let env: Record<string, string>;

  before(async () => {
    const port = await freePort();
    env = {
      COSELL_MODE: 'sandbox',
      PORT: String(port),
      // Below the ephemeral range (32768+) that port-0 listeners in other test files draw from.
      SANDBOX_PORT_BASE: String(20000 + Math.floor(Math.random() * 12000)),
    };
    relay = spawnRelay({ ...env, DATABASE_URL: await createTestDatabase('rehearsal'), LOG_FORMAT: 'json' });
    await relay.ready(60_000);
  });
  after(async () => {
    relay?.kill('SIGTERM');
    await relay?.exited;
  });

  it('lists, registers and tests the webhook at the sandbox registration API', async () => {
    const url = `${relay.url}/webhooks/partner-center`;
    const list = await runCli(['webhooks', 'list', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(JSON.parse(list.stdout).registration.webhookUrl, url);
    const show = await runCli(['webhooks', 'show'], env);
    assert.match(show.stdout, new RegExp(`Webhook URL:\\s+${url}`));

    const register = await runCli(['webhooks', 'register', '--yes', '--json'], env);
    assert.equal(register.code, 0, register.stderr);
    const registered = JSON.parse(register.stdout) as { registration: { webhookEvents: string[] } };
    assert.ok(registered.registration.webhookEvents.includes('test-created'));
    assert.match(register.stderr, /WARNING: Partner Center keeps ONE webhook URL per tenant/);

    const test = await runCli(['webhooks', 'test', '--timeout', '20', '--json'], env);
    assert.equal(test.code, 0, `${test.stdout}\n${test.stderr}`);
    const result = JSON.parse(test.stdout) as { delivered: boolean; callbackUrl: string };
    assert.equal(result.delivered, true);
    assert.equal(result.callbackUrl, url);
  });

  it('signs in at the sandbox Entra through the browser redirect to localhost', async () => {
    const cli = startCli(['login', '--timeout', '30', '--json'], env);
    // The guidance goes to stderr with --json; the address is the same either way.
    const signInUrl = await waitFor(
      () =>
        /Waiting for the browser/.test(cli.stderr())
          ? /https:\/\/\S+\/oauth2\/v2\.0\/authorize\?\S+/.exec(cli.stderr())?.[0]
          : undefined,
      { message: 'the sign-in URL and the loopback listener' },
    );
    // The browser trusts the simulators' certificate, as the CLI does.
    const handoff = readSandboxHandoff({ rootDir: ROOT, PORT: Number(env.PORT) });
    for (const pem of handoff?.trustPem ?? []) trustSandboxCertificate(pem);
    // The browser: the sandbox authority answers with a redirect to the CLI's loopback server.
    const authorize = await fetch(signInUrl, { redirect: 'manual' });
    assert.equal(authorize.status, 302);
    const location = new URL(authorize.headers.get('location')!);
    assert.equal(location.hostname, 'localhost');
    const landing = await fetch(location);
    assert.equal(landing.status, 200);
    assert.match(await landing.text(), /Signed in/);
    const run = await cli.done;
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).account, SANDBOX_PARTNER_USER);
  });

  it('exits 1 when stdin is closed before the address is pasted, with nothing signed in', async () => {
    const run = await runCli(['login', '--paste'], env);
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stderr, /stdin closed before an address was pasted; nothing was signed in/);
    assert.doesNotMatch(run.stdout, /Signed in to Partner Center/);
  });

  it('runs every doctor check against the simulators, one line each', async () => {
    const run = await runCli(['doctor'], env);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    for (const name of [
      'Database and migrations',
      'Entra delegated sign-in',
      'Entra app token',
      'Salesforce login',
      'Package and mapped fields',
      'Pub/Sub topic and schema',
      'Webhook registration',
      'Certificate download',
    ])
      assert.match(run.stdout, new RegExp(`^ok\\s+${name.replace(/[/]/g, '\\/')}\\s+\\S`, 'm'), name);
    assert.match(
      run.stdout,
      new RegExp(`Entra delegated sign-in\\s+${SANDBOX_PARTNER_USER}; access token valid until 20`),
    );
    const json = await runCli(['doctor', '--json'], env);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: Array<{ ok: boolean }> };
    assert.equal(report.ok, true);
    assert.equal(report.checks.length, 8);
  });

  it('refuses to rehearse when no sandbox runs on PORT, naming what to do', async () => {
    const run = await runCli(['webhooks', 'list'], { ...env, PORT: String(await freePort()) });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no `npm start` in sandbox mode is running on PORT \d+/);
  });
});
