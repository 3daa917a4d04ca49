import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { SANDBOX_PARTNER_USER } from '../../relay/sandbox/index.ts';
import type { Sandboxes } from '../../relay/sandbox/index.ts';
import { ROOT, sampleReferral } from '../support/relayHarness.ts';
import {
  captureDelivery,
  postDelivery,
  receiptsForReferral,
  referralIdOf,
} from '../support/inboundChecks.ts';
import { ADMIN_TOKEN, spawnRelay, startProductionFixture, tempDir } from '../support/relayProcess.ts';
import type { ProductionFixture, RelayProcess } from '../support/relayProcess.ts';
import { waitFor } from '../support/waitFor.ts';

const ENTRA_SECRET = 'entra-secret-value-never-printed';
const SF_SECRET = 'salesforce-secret-value-never-printed';
const FAKE_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** A production environment that passes config validation but points nowhere (nothing is contacted before the failure). */
function offlineEnv(
  files: ReturnType<typeof tempDir>,
  overrides: Record<string, string>,
): Record<string, string> {
  return {
    COSELL_MODE: 'production',
    PORT: '0',
    PUBLIC_URL: 'https://relay.example.com',
    DATABASE_URL: 'postgres://relay:db-password-never-printed@127.0.0.1:1/none',
    TOKEN_CACHE_KEY: 'c'.repeat(64),
    ADMIN_TOKEN: 'admin-token-never-printed',
    ENTRA_TENANT_ID: 'tenant',
    ENTRA_CLIENT_ID: 'client',
    ENTRA_CLIENT_SECRET: ENTRA_SECRET,
    SF_LOGIN_URL: 'https://login.salesforce.com',
    SF_CLIENT_ID: 'sf-client',
    SF_CLIENT_SECRET: SF_SECRET,
    WEBHOOK_TRUSTED_ROOTS_FILE: files.write('roots.pem', FAKE_PEM),
    ...overrides,
  };
}

describe('the relay refuses to start on bad settings', () => {
  let files: ReturnType<typeof tempDir>;
  before(() => {
    files = tempDir('refuse');
  });
  after(() => files.dispose());

  const run = async (env: Record<string, string>) => {
    const relay = spawnRelay(env);
    const { code } = await relay.exited;
    return { code, output: relay.output() };
  };
  const assertNoSecrets = (output: string, secrets: string[]) => {
    for (const secret of secrets)
      assert.ok(!output.includes(secret), `the message must not show ${secret}:\n${output}`);
  };

  it('names every bad config key, without echoing a secret', async () => {
    const { code, output } = await run(
      offlineEnv(files, {
        PORT: 'abc',
        TOKEN_CACHE_KEY: 'token-key-never-printed',
        DATABASE_URL: 'mysql://relay:db-password-never-printed@db/x',
      }),
    );
    assert.equal(code, 78, output);
    assert.match(output, /Invalid configuration/);
    assert.match(output, /PORT: .*\(got "abc"\)/);
    assert.match(output, /TOKEN_CACHE_KEY: must be 32 bytes/);
    assert.match(output, /DATABASE_URL: must be a postgres:\/\/ URL/);
    assertNoSecrets(output, [
      'token-key-never-printed',
      'db-password-never-printed',
      ENTRA_SECRET,
      SF_SECRET,
      'admin-token-never-printed',
    ]);
  });

  it('names the mapping entry that maps to an unknown Opportunity field', async () => {
    const mapping = JSON.parse(readFileSync(path.join(ROOT, 'config/mapping.json'), 'utf8')) as {
      fields: Array<Record<string, string>>;
    };
    const entry = mapping.fields.find((f) => f.name === 'dealValue')!;
    entry.opportunity = 'Deal_Size__c';
    const file = files.write('mapping.json', JSON.stringify(mapping));
    // Sandbox mode checks the mapping against force-app before anything starts; production checks a
    // field force-app lacks against the org's describe (relay/src/sync/mapping.test.ts).
    const env = offlineEnv(files, { MAPPING_FILE: file, COSELL_MODE: 'sandbox' });
    delete env.DATABASE_URL;
    const { code, output } = await run(env);
    assert.notEqual(code, 0, output);
    assert.match(output, /Invalid mapping/);
    assert.match(output, /dealValue.*"Deal_Size__c" is not an Opportunity field/);
    assertNoSecrets(output, [
      ENTRA_SECRET,
      SF_SECRET,
      'db-password-never-printed',
      'admin-token-never-printed',
    ]);
  });

  it('names a missing production setting and an unreadable trust file', async () => {
    const env = offlineEnv(files, { WEBHOOK_TRUSTED_ROOTS_FILE: path.join(files.dir, 'missing.pem') });
    delete env.SF_CLIENT_ID;
    const { code, output } = await run(env);
    assert.equal(code, 78, output);
    assert.match(output, /SF_CLIENT_ID: required when COSELL_MODE=production/);
    const second = await run(
      offlineEnv(files, { WEBHOOK_TRUSTED_ROOTS_FILE: path.join(files.dir, 'missing.pem') }),
    );
    assert.equal(second.code, 78, second.output);
    assert.match(second.output, /WEBHOOK_TRUSTED_ROOTS_FILE: cannot read/);
  });
});

describe('a production relay process: health, readiness and graceful SIGTERM', () => {
  let fixture: ProductionFixture;
  let sandboxes: Sandboxes;
  let db: pg.Pool;
  let env: Record<string, string>;
  let relay: RelayProcess | undefined;
  const opportunityOf = (referralId: string) => fixture.opportunityOf(referralId);

  before(async () => {
    fixture = await startProductionFixture('sigterm');
    ({ sandboxes, db, env } = fixture);
  });
  after(async () => {
    relay?.kill('SIGKILL');
    await relay?.exited;
    await fixture.dispose();
  });

  it('answers /healthz and /readyz with every check passing', async () => {
    relay = spawnRelay(env);
    await relay.ready();
    const health = await fetch(`${relay.url}/healthz`);
    assert.equal(health.status, 200);
    const anonymous = (await (await fetch(`${relay.url}/readyz`)).json()) as object;
    assert.deepEqual(anonymous, { ready: true, failing: [] });
    // The checks themselves are for an admin.
    const ready = await fetch(`${relay.url}/readyz`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = (await ready.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    assert.equal(ready.status, 200, JSON.stringify(body));
    assert.equal(body.ready, true);
    for (const [name, check] of Object.entries(body.checks)) assert.equal(check.ok, true, `${name} passes`);
  });

  it('on SIGTERM stops taking webhooks, finishes the job in flight and exits 0 within 25 s', async () => {
    assert.ok(relay, 'the relay from the previous test is running');
    const running = relay;
    // Each Salesforce call now takes 700 ms, so the job is still working when SIGTERM arrives.
    sandboxes.salesforce.setFaults({ latencyMs: 700 });
    sandboxes.salesforce.resetCounters();
    const referral = sandboxes.partnerCenter.referrals.createAsMicrosoft(
      sampleReferral({ name: 'In flight at SIGTERM' }),
    );
    const id = referral.id as string;
    await waitFor(() => sandboxes.salesforce.requests().length > 0, {
      message: 'the job to reach Salesforce',
    });
    // Signed but not yet sent: delivered by the test while the relay drains.
    const late = captureDelivery(sandboxes, () =>
      sandboxes.partnerCenter.referrals.createAsMicrosoft(sampleReferral({ name: 'Arrives while draining' })),
    );

    const signalledAt = Date.now();
    running.kill('SIGTERM');
    // Probe with an empty POST (no side effects) until the relay says it is draining.
    await waitFor(
      async () => (await fetch(`${running.url}/webhooks/partner-center`, { method: 'POST' })).status === 503,
      {
        message: 'the webhook endpoint to refuse with 503',
        timeoutMs: 5000,
      },
    );
    const refused = await postDelivery(running.url, late.body, late.headers);
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error?.code, 'SHUTTING_DOWN');

    const { code } = await running.exited;
    const tookMs = Date.now() - signalledAt;
    sandboxes.salesforce.clearFaults();
    assert.equal(code, 0, running.output());
    assert.ok(tookMs < 25_000, `exited after ${tookMs} ms`);
    const opportunity = opportunityOf(id);
    assert.ok(opportunity, 'the in-flight job finished before the exit');
    assert.equal(opportunity.Referral_Sync_Status__c, 'Synced');
    assert.equal(await receiptsForReferral(db, referralIdOf(late)), 0, 'the refused delivery was not stored');
    const jobs = await db.query('select key, locked_at from graphile_worker.jobs');
    assert.deepEqual(jobs.rows, [], 'no job left behind, locked or not');
    relay = undefined;
  });

  it('reports a revoked Partner Center token on /readyz with 503 and the failing check', async () => {
    sandboxes.entra.revokeRefreshTokens(SANDBOX_PARTNER_USER);
    relay = spawnRelay(env);
    await relay.ready();
    const anonymous = (await (await fetch(`${relay.url}/readyz`)).json()) as { failing: string[] };
    assert.deepEqual(Object.keys(anonymous).sort(), ['failing', 'ready']);
    assert.ok(anonymous.failing.includes('partnerCenterToken'), JSON.stringify(anonymous));
    const ready = await fetch(`${relay.url}/readyz`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = (await ready.json()) as {
      ready: boolean;
      checks: Record<string, { ok: boolean; detail?: string; status?: string }>;
    };
    assert.equal(ready.status, 503, JSON.stringify(body));
    assert.equal(body.ready, false);
    assert.equal(body.checks.partnerCenterToken.ok, false);
    assert.match(body.checks.partnerCenterToken.detail ?? '', /refresh token.*relay login/);
    assert.equal(body.checks.database.ok, true);
    assert.equal((await fetch(`${relay.url}/healthz`)).status, 200, 'still alive, just not ready');
    // The status API says the same to an operator, behind the admin token.
    const status = await fetch(`${relay.url}/api/status`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(status.status, 200);
    const statusBody = (await status.json()) as {
      ready: boolean;
      checks: { partnerCenterToken: { status: string } };
    };
    assert.equal(statusBody.ready, false);
    assert.equal(statusBody.checks.partnerCenterToken.status, 'failed');

    relay.kill('SIGTERM');
    assert.equal((await relay.exited).code, 0);
    relay = undefined;
  });
});
