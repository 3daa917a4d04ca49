import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sampleReferral, startTestSystem } from '../../../tests/support/relayHarness.ts';
import type { TestSystem } from '../../../tests/support/relayHarness.ts';
import { waitForQueueIdle } from '../../../tests/support/inboundChecks.ts';
import { waitFor } from '../../../tests/support/waitFor.ts';
import { recordAudit } from '../store/audit.ts';

const ADMIN_TOKEN = 'dashboard-test-admin-token-42';
const basic = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`;
const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('dashboard', () => {
  let system: TestSystem;

  before(async () => {
    system = await startTestSystem({ env: { ADMIN_TOKEN, JOB_MAX_ATTEMPTS: '1' } });
  });
  after(() => system?.stop());

  async function deadLetter(): Promise<string> {
    // A job still running (a dead letter just retried) would take some of the failures meant for this one.
    await waitForQueueIdle(system.relay.database.pool);
    const known = new Set((await system.relay.operations.listFailedJobs()).map((j) => j.id));
    system.sandboxes.partnerCenter.faults.failNext(4);
    system.sandboxes.partnerCenter.referrals.createAsMicrosoft(sampleReferral());
    const job = await waitFor(
      async () => (await system.relay.operations.listFailedJobs()).find((j) => !known.has(j.id)),
      { message: 'a dead letter' },
    );
    return job.id;
  }

  const page = async (query = '') => {
    const response = await fetch(`${system.relay.url}/${query}`, { headers: { authorization: basic } });
    assert.equal(response.status, 200);
    return { html: await response.text(), headers: response.headers };
  };

  it('answers 401 with a Basic challenge without the admin token', async () => {
    const response = await fetch(`${system.relay.url}/`);
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    assert.equal((await fetch(`${system.relay.url}/api/status`)).status, 401);
    const wrong = await fetch(`${system.relay.url}/`, {
      headers: { authorization: 'Bearer not-the-token-at-all' },
    });
    assert.equal(wrong.status, 401);
  });

  it('renders every panel, a dead letter with its buttons and the ERROR audit rows, escaped', async () => {
    const jobId = await deadLetter();
    await recordAudit(system.relay.database.pool, {
      direction: 'system',
      level: 'ERROR',
      message: 'Boom <script>alert(1)</script> & co',
    });
    const { html, headers } = await page();
    for (const id of [
      'panel-health',
      'panel-counts',
      'panel-dead-letters',
      'panel-links',
      'panel-audit',
      'panel-banner',
    ])
      assert.ok(html.includes(`id="${id}"`), id);
    for (const text of [
      'Readiness',
      'Ready',
      'Database',
      'Workers',
      'Partner Center sign-in',
      'referrals.admin@partner.sandbox',
      'Salesforce',
      'Pub/Sub subscriber',
      'Queue',
      'Links by sync status',
      'Webhook deliveries',
      'Salesforce API',
      'last reconcile',
      'Dead letters',
      'Recent links',
      'Audit log',
      'Reconcile now',
    ]) {
      assert.ok(html.includes(text), `shows ${text}`);
    }
    assert.match(
      html,
      new RegExp(
        `<tr class="row-error" data-job-id="${jobId}">.*?HTTP 503.*?data-action="retry" data-job="${jobId}".*?data-action="drop" data-job="${jobId}"`,
        's',
      ),
    );
    assert.match(
      html,
      /<tr class="row-error">.*?ERROR.*?Boom &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; co/s,
    );
    assert.ok(!html.includes('<script>alert(1)'), 'data never becomes markup');
    // Inline script and style run only with this response's nonce; nothing loads from elsewhere.
    const nonce = /script-src 'nonce-([^']+)'/.exec(headers.get('content-security-policy') ?? '')?.[1];
    assert.ok(nonce && html.includes(`<script type="module" nonce="${nonce}">`));
    assert.doesNotMatch(html, /(src|href)="https?:/);

    const errorsOnly = await page('?level=ERROR');
    assert.match(errorsOnly.html, /<option value="ERROR" selected>/);
    assert.doesNotMatch(errorsOnly.html.split('id="panel-audit"')[1], /badge-neutral">INFO/);
  });

  it('retries and drops dead letters through the admin API, audited, and refuses cross-site requests', async () => {
    const retried = (await system.relay.operations.listFailedJobs())[0]?.id ?? (await deadLetter());
    const crossSite = await fetch(`${system.relay.url}/api/dead-letters/${retried}/retry`, {
      method: 'POST',
      headers: { ...bearer, origin: 'https://evil.example' },
    });
    assert.equal(crossSite.status, 403);
    const retry = await fetch(`${system.relay.url}/api/dead-letters/${retried}/retry`, {
      method: 'POST',
      headers: bearer,
    });
    assert.equal(retry.status, 200);
    const dropped = await deadLetter();
    const drop = await fetch(`${system.relay.url}/api/dead-letters/${dropped}`, {
      method: 'DELETE',
      headers: { ...bearer, origin: system.relay.url },
    });
    assert.equal(drop.status, 200);
    assert.equal(
      (await fetch(`${system.relay.url}/api/dead-letters/${dropped}`, { method: 'DELETE', headers: bearer }))
        .status,
      404,
    );
    const audit = await system.relay.operations.listAudit({ limit: 50 });
    assert.ok(audit.some((e) => e.jobId === retried && /put back in the queue/.test(e.message)));
    assert.ok(audit.some((e) => e.jobId === dropped && /dropped/.test(e.message)));
    await waitFor(
      async () =>
        (await system.relay.operations.listFailedJobs()).every((j) => j.id !== retried && j.id !== dropped),
      { message: 'dead letters gone' },
    );
    const { html } = await page();
    assert.match(html, /No dead letters/);
  });

  it('streams backfill progress as NDJSON', async () => {
    const response = await fetch(`${system.relay.url}/api/backfill?stream=1`, {
      method: 'POST',
      headers: bearer,
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines.at(-1), {
      done: true,
      referrals: system.sandboxes.partnerCenter.referrals.list().length,
    });
  });
});
