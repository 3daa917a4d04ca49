import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sampleReferral, startTestSystem } from '../../../tests/support/relayHarness.ts';
import type { TestSystem } from '../../../tests/support/relayHarness.ts';
import { waitFor } from '../../../tests/support/waitFor.ts';
import { SANDBOX_RELAY_CLIENT, SANDBOX_TENANT_ID } from '../../sandbox/index.ts';
import { runCli, writeTempFile } from './testSupport.ts';

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

  it('exits 2 with the usage on a wrong command line', async () => {
    const lines = [
      [],
      ['frobnicate'],
      ['dlq'],
      ['dlq', 'retry'],
      ['dlq', 'retry', 'abc'],
      ['status', '--verbose'],
      ['dlq', 'drop', '7'],
    ];
    const runs = await Promise.all(lines.map((args) => runCli(args, env)));
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `relay ${lines[i].join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /Usage: npm run relay -- <command>/);
    });
    assert.match(runs[4].stderr, /<jobId>: must be a number/);
    assert.match(runs[6].stderr, /--yes: required to drop a dead letter/);
    const help = await runCli(['help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /dlq retry <jobId>/);
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
      new RegExp(`^${first.jobId}\\s+pc-referral-changed\\s+referral ${first.referralId}\\s+1/1`, 'm'),
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
});
