import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sampleReferral, startTestSystem } from '../../../tests/support/relayHarness.ts';
import type { TestSystem } from '../../../tests/support/relayHarness.ts';
import { waitFor } from '../../../tests/support/waitFor.ts';
import { SANDBOX_RELAY_CLIENT, SANDBOX_TENANT_ID } from '../../sandbox/index.ts';
import { ROOT, runCli, writeTempFile } from './testSupport.ts';

const ADMIN_TOKEN = 'cli-test-admin-token-0123456789';

describe('relay CLI against a running relay', () => {
  let system: TestSystem;
  let env: Record<string, string>;

  before(async () => {
    // One attempt per job, so a Partner Center fault turns a sync into a dead letter at once.
    system = await startTestSystem({ env: { ADMIN_TOKEN, JOB_MAX_ATTEMPTS: '1' } });
    env = { RELAY_URL: system.relay.url, ADMIN_TOKEN };
  });
  after(() => system?.stop());

  /** A referral whose sync ran out of attempts because Partner Center answered 503 to every try. */
  async function deadLetter(): Promise<{ jobId: string; referralId: string }> {
    const before = new Set((await system.relay.operations.listFailedJobs()).map((j) => j.id));
    system.sandboxes.partnerCenter.faults.failNext(4); // the first GET and its 3 in-place retries
    const referral = system.sandboxes.partnerCenter.referrals.createAsMicrosoft(sampleReferral());
    const job = await waitFor(
      async () => (await system.relay.operations.listFailedJobs()).find((j) => !before.has(j.id)),
      {
        message: 'a dead letter',
      },
    );
    return { jobId: job.id, referralId: referral.id as string };
  }

  it('exits 2 on a wrong command line with a one-line hint, not the whole help', async () => {
    const lines = [
      ['frobnicate'],
      ['dlq'],
      ['dlq', 'retry'],
      ['dlq', 'retry', 'abc'],
      ['status', '--verbose'],
      ['dlq', 'drop', '7'],
      ['webhooks', 'list', 'extra'],
      ['status', '--json=yes'],
    ];
    const runs = await Promise.all(lines.map((args) => runCli(args, env)));
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `relay ${lines[i].join(' ')}: ${run.stderr}`);
      assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /Usage:/);
    });
    assert.match(runs[0].stderr, /frobnicate: unknown command\. Run `npm run relay -- --help`/);
    assert.match(
      runs[3].stderr,
      /^relay dlq: <jobId>: must be a number.*\(see `npm run relay -- dlq --help`\)$/m,
    );
    assert.match(runs[4].stderr, /^relay status: --verbose: unknown option/);
    assert.match(runs[5].stderr, /--yes: required to drop a dead letter/);
    assert.match(runs[7].stderr, /--json: takes no value/);
    const bare = await runCli([], env);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /Usage: npm run relay -- <command>/);
  });

  it('prints help per command, the whole help, and the version', async () => {
    const help = await runCli(['help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /dlq retry <jobId>/);
    assert.match(help.stdout, /doctor/);
    for (const args of [
      ['dlq', '--help'],
      ['dlq', 'retry', '-h'],
      ['help', 'dlq'],
    ]) {
      const run = await runCli(args, env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Usage: npm run relay -- dlq list/);
      assert.doesNotMatch(run.stdout, /backfill/, 'only that command');
    }
    const webhooks = await runCli(['webhooks', 'list', '--help'], env);
    assert.match(webhooks.stdout, /webhooks list \[--json\].*\(alias: show\)/);
    const version = await runCli(['--version'], env);
    assert.equal(version.code, 0);
    const { version: expected } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(version.stdout.trim(), `relay ${expected}`);
  });

  it('prints data as JSON with --json', async () => {
    const reconcile = await runCli(['reconcile', '--json'], env);
    assert.equal(reconcile.code, 0, reconcile.stderr);
    assert.match(JSON.parse(reconcile.stdout).jobId, /^\d+$/);
    const dlq = await runCli(['dlq', 'list', '--json'], env);
    assert.ok(Array.isArray(JSON.parse(dlq.stdout)));
  });

  it('prints readiness, each check and the counts', async () => {
    await waitFor(async () => (await system.relay.operations.status()).ready, { message: 'relay ready' });
    const run = await runCli(['status'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /READY/);
    for (const text of [
      'Database',
      'Workers',
      'Partner Center sign-in',
      'referrals.admin@partner.sandbox',
      'Salesforce',
      'Pub/Sub subscriber',
      'leader',
      'Queue',
      'Links',
      'Webhooks',
      'Last reconcile',
    ]) {
      assert.ok(run.stdout.includes(text), `status shows ${text}:\n${run.stdout}`);
    }
    const json = await runCli(['status', '--json'], env);
    assert.equal(JSON.parse(json.stdout).ready, true);
  });

  it('names ADMIN_TOKEN, without printing it, when the relay refuses the token', async () => {
    const run = await runCli(['status'], { ...env, ADMIN_TOKEN: 'wrong-token-but-long-enough' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /ADMIN_TOKEN/);
    assert.ok(!run.stderr.includes('wrong-token-but-long-enough') && !run.stdout.includes(ADMIN_TOKEN));
    const unreachable = await runCli(['status'], { RELAY_URL: 'http://127.0.0.1:9' });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /Cannot reach the relay at http:\/\/127\.0\.0\.1:9.*RELAY_URL/);
  });

  it('lists a dead letter with its last error, retries it until it syncs, and drops another', async () => {
    const first = await deadLetter();
    const list = await runCli(['dlq', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(`^${first.jobId}\\s+inbound-referral-changed\\s+referral ${first.referralId}\\s+1/1`, 'm'),
    );
    assert.match(list.stdout, /HTTP 503/);

    const retry = await runCli(['dlq', 'retry', first.jobId], env);
    assert.equal(retry.code, 0, retry.stderr);
    assert.match(retry.stdout, new RegExp(`Job ${first.jobId} is back in the queue`));
    await waitFor(
      () =>
        system.sandboxes.salesforce.store.findBy(
          'Opportunity',
          'Referral_Identifier__c',
          first.referralId,
        )[0],
      { message: 'the retried referral synced' },
    );

    const second = await deadLetter();
    const drop = await runCli(['dlq', 'drop', second.jobId, '--yes'], env);
    assert.equal(drop.code, 0, drop.stderr);
    assert.deepEqual(await system.relay.operations.listFailedJobs(), []);
    const audit = await system.relay.operations.listAudit({ limit: 20 });
    assert.ok(audit.some((e) => e.jobId === first.jobId && /put back in the queue/.test(e.message)));
    assert.ok(audit.some((e) => e.jobId === second.jobId && /dropped/.test(e.message)));
    assert.match((await runCli(['dlq', 'list'], env)).stdout, /No dead letters/);

    const missing = await runCli(['dlq', 'retry', second.jobId], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`no dead-lettered job ${second.jobId}`));
  });

  it('queues a reconcile', async () => {
    const run = await runCli(['reconcile'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Reconcile queued as job \d+/);
  });

  it('backfills every referral with a progress bar until the queue has drained', async () => {
    const pc = system.sandboxes.partnerCenter;
    for (let i = 0; i < 5; i++) pc.referrals.createAsMicrosoft(sampleReferral({ name: `Backfill ${i}` }));
    const total = pc.referrals.list().length;
    const run = await runCli(['backfill'], env);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /Listing referrals in Partner Center… \d+ enqueued/);
    assert.match(run.stdout, new RegExp(`Listed ${total} referral\\(s\\) in Partner Center; all enqueued`));
    assert.match(run.stdout, new RegExp(`Syncing \\[#{30}\\] 100% ${total}/${total}`));
    assert.match(run.stdout, new RegExp(`Backfill done: ${total} referral\\(s\\) synced`));
    const jobs = (await system.relay.operations.status()).jobs;
    assert.equal(jobs.queued + jobs.running + jobs.retrying, 0);
  });

  it('shows, registers and tests the tenant webhook with production settings', async () => {
    const { entra, partnerCenter } = system.sandboxes;
    const pem = writeTempFile('sandbox-ca.pem', entra.certificatePem);
    const production = {
      COSELL_MODE: 'production',
      NODE_EXTRA_CA_CERTS: pem,
      PUBLIC_URL: system.relay.url,
      ADMIN_TOKEN,
      DATABASE_URL: system.databaseUrl,
      TOKEN_CACHE_KEY: 'a'.repeat(64),
      ENTRA_AUTHORITY_HOST: entra.url,
      ENTRA_TENANT_ID: SANDBOX_TENANT_ID,
      ENTRA_CLIENT_ID: SANDBOX_RELAY_CLIENT.clientId,
      ENTRA_CLIENT_SECRET: SANDBOX_RELAY_CLIENT.clientSecret,
      ENTRA_KNOWN_AUTHORITIES: entra.knownAuthorities.join(','),
      PC_WEBHOOK_API_BASE_URL: partnerCenter.url,
      PC_REFERRALS_BASE_URL: partnerCenter.url,
      WEBHOOK_TRUSTED_ROOTS_FILE: pem,
      SF_LOGIN_URL: 'https://login.salesforce.com',
      SF_CLIENT_ID: 'unused-here',
      SF_CLIENT_SECRET: 'unused-here-too',
    };
    const url = `${system.relay.url}/webhooks/partner-center`;
    const show = await runCli(['webhooks', 'show'], production);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`Webhook URL:\\s+${url}`));

    const register = await runCli(['webhooks', 'register', '--yes'], production);
    assert.equal(register.code, 0, register.stderr);
    assert.match(register.stdout, /WARNING: Partner Center keeps ONE webhook URL per tenant/);
    assert.match(register.stdout, new RegExp(`Current: ${url}`));
    assert.match(
      register.stdout,
      /referral-created, referral-updated, related-referral-created, related-referral-updated, test-created/,
    );
    assert.equal(partnerCenter.webhookRegistration()?.webhookUrl, url);

    const test = await runCli(['webhooks', 'test', '--timeout', '20'], production);
    assert.equal(test.code, 0, `${test.stdout}\n${test.stderr}`);
    assert.match(test.stdout, /Status: completed/);
    assert.match(test.stdout, /^1\s+\S+\s+OK/m);
    for (const secret of [SANDBOX_RELAY_CLIENT.clientSecret, ADMIN_TOKEN]) {
      assert.ok(
        ![show, register, test].some((r) => r.stdout.includes(secret) || r.stderr.includes(secret)),
        'no secret printed',
      );
    }
  });

  it('doctor names each failing check, one line each, and exits 1', async () => {
    const { entra, partnerCenter } = system.sandboxes;
    const pem = writeTempFile('sandbox-ca.pem', entra.certificatePem);
    const run = await runCli(['doctor'], {
      COSELL_MODE: 'production',
      NODE_EXTRA_CA_CERTS: pem,
      PUBLIC_URL: 'https://relay.example.com',
      ADMIN_TOKEN,
      DATABASE_URL: system.databaseUrl,
      TOKEN_CACHE_KEY: 'c'.repeat(64),
      ENTRA_AUTHORITY_HOST: entra.url,
      ENTRA_TENANT_ID: SANDBOX_TENANT_ID,
      ENTRA_CLIENT_ID: SANDBOX_RELAY_CLIENT.clientId,
      ENTRA_CLIENT_SECRET: SANDBOX_RELAY_CLIENT.clientSecret,
      ENTRA_KNOWN_AUTHORITIES: entra.knownAuthorities.join(','),
      PC_WEBHOOK_API_BASE_URL: partnerCenter.url,
      PC_REFERRALS_BASE_URL: partnerCenter.url,
      WEBHOOK_TRUSTED_ROOTS_PEM: partnerCenter.trustedRootPem,
      // Nothing listens on port 9: the Salesforce login fails, and the checks that need it say so.
      SF_LOGIN_URL: 'http://127.0.0.1:9',
      SF_CLIENT_ID: 'unused-here',
      SF_CLIENT_SECRET: 'unused-here-too',
    });
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^ok\s+Database and migrations/m);
    // Another key than the relay's: the stored sign-in cannot be read with it.
    assert.match(run.stdout, /^FAIL\s+Entra delegated sign-in\s+\S/m);
    assert.match(run.stdout, /^ok\s+Entra app token/m);
    assert.match(run.stdout, /^FAIL\s+Salesforce login\s+\S/m);
    assert.match(run.stdout, /^FAIL\s+Package and mapped fields\s+needs the Salesforce login/m);
    assert.match(run.stdout, /^FAIL\s+Pub\/Sub topic and schema\s+needs the Salesforce login/m);
    assert.match(
      run.stdout,
      /^FAIL\s+Webhook registration\s+points at \S+, not https:\/\/relay\.example\.com\/webhooks\/partner-center/m,
    );
    assert.match(run.stdout, /checks failed\.$/m);
    assert.ok(!run.stdout.includes(SANDBOX_RELAY_CLIENT.clientSecret) && !run.stderr.includes(ADMIN_TOKEN));
  });
});
