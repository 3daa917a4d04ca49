import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sampleReferral, startTestSystem } from '../../../tests/support/relayHarness.ts';
import type { TestSystem } from '../../../tests/support/relayHarness.ts';
import { waitForQueueIdle } from '../../../tests/support/inboundChecks.ts';
import { waitFor } from '../../../tests/support/waitFor.ts';
import { recordAudit } from '../store/audit.ts';
import { signInSeller } from '../../../tests/support/seller.ts';

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
      'panel-charts',
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
      'Links',
      'Syncs per minute',
      'Latency, change → write',
      'By kind of error',
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

  it('finds a synced pair by name and by referral id, and opens its page with both sides and the mapping', async () => {
    await waitForQueueIdle(system.relay.database.pool);
    const referral = system.sandboxes.partnerCenter.referrals.createAsMicrosoft(
      sampleReferral({ name: 'Quokka migration <b>bold</b>' }),
    );
    const link = await waitFor(
      async () => {
        const page = await system.relay.operations.searchLinks({ q: referral.id as string, limit: 5 });
        return page.links.find((l) => l.syncStatus === 'Synced' && l.opportunityId);
      },
      { message: 'the referral synced' },
    );
    const byName = await page('?q=quokka');
    assert.match(
      byName.html,
      new RegExp(`href="links/${link.id}"[^>]*>Quokka migration &lt;b&gt;bold&lt;/b&gt;<`),
    );
    assert.match(byName.html, /1 of 1 matching link</);
    const none = await page('?q=no-such-thing-anywhere&status=Error');
    assert.match(none.html, /No links match this search/);
    assert.match(none.html, /<option value="Error" selected>/);

    const pair = await page(`links/${link.id}`);
    assert.match(pair.html, /Sync status <span class="badge badge-ok">Synced<\/span>/);
    assert.ok(
      pair.html.includes(
        `href="https://partner.microsoft.com/dashboard/referrals/v2/opportunities/${referral.id}"`,
      ),
    );
    assert.match(
      pair.html,
      new RegExp(`href="https?://[^"]+/lightning/r/Opportunity/${link.opportunityId}/view"`),
    );
    assert.match(pair.html, /both sides agree/);
    assert.match(
      pair.html,
      /data-field="name".*?badge-ok">same<.*?Quokka migration &lt;b&gt;bold&lt;\/b&gt;/s,
    );
    assert.match(pair.html, /Created from Partner Center referral/);

    // One side unreadable: said so, the other side still shown.
    system.sandboxes.partnerCenter.faults.failNext(1);
    const half = await page(`links/${link.id}`);
    assert.match(half.html, /Partner Center could not be read: <\/strong>[^<]*503/);
    assert.match(half.html, /one side could not be read/);
    assert.match(half.html, /aria-label="Salesforce".*?<dl class="facts">/s);
    system.sandboxes.partnerCenter.faults.update({ unavailableNext: 0 });

    const missing = await fetch(`${system.relay.url}/links/999999`, { headers: { authorization: basic } });
    assert.equal(missing.status, 404);
  });

  it('retries every dead letter of one kind at once, audited', async () => {
    const first = await deadLetter();
    const second = await deadLetter();
    const kinds = (await (
      await fetch(`${system.relay.url}/api/dead-letters/kinds`, { headers: bearer })
    ).json()) as {
      kinds: Array<{ kind: string; count: number }>;
    };
    const kind = kinds.kinds.find((k) => k.count >= 2);
    assert.ok(kind, 'two dead letters of one kind');
    const { html } = await page();
    assert.ok(html.includes(`data-action="retry-kind" data-kind="${kind.kind}"`));
    const retry = await fetch(
      `${system.relay.url}/api/dead-letters/retry?kind=${encodeURIComponent(kind.kind)}`,
      {
        method: 'POST',
        headers: bearer,
      },
    );
    assert.equal(retry.status, 200);
    assert.equal(((await retry.json()) as { retried: number }).retried, kind.count);
    const audit = await system.relay.operations.listAudit({ limit: 20 });
    assert.ok(
      audit.some(
        (e) => e.message === `${kind.count} dead letter(s) of kind "${kind.kind}" put back in the queue`,
      ),
    );
    await waitFor(
      async () =>
        (await system.relay.operations.listFailedJobs()).every((j) => j.id !== first && j.id !== second),
      { message: 'both retried' },
    );
    const bad = await fetch(`${system.relay.url}/api/dead-letters/retry`, {
      method: 'POST',
      headers: bearer,
    });
    assert.equal(bad.status, 400);
  });

  it('serves its favicon to anyone, and refuses a malformed page cursor naming it', async () => {
    const icon = await fetch(`${system.relay.url}/favicon.ico`);
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get('content-type') ?? '', /image\/svg\+xml/);
    assert.match(await icon.text(), /^<svg /);
    const bad = await fetch(`${system.relay.url}/api/links?after=yesterday`, { headers: bearer });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /after: must be a cursor/);
  });

  it('exposes Prometheus metrics: latency histograms, API calls per endpoint, queue, dead letters, process', async () => {
    await deadLetter();
    const metrics = await (await fetch(`${system.relay.url}/metrics`)).text();
    assert.match(metrics, /^cosell_sync_latency_seconds_bucket\{le="0\.5",direction="inbound"\} \d+/m);
    assert.match(metrics, /^cosell_sync_latency_seconds_count\{direction="inbound"\} [1-9]/m);
    assert.match(
      metrics,
      /^cosell_api_calls_total\{service="partner_center",endpoint="GET \/v1\.0\/engagements\/referrals\/\{id\}"\} [1-9]/m,
    );
    assert.match(metrics, /^cosell_api_calls_total\{service="salesforce",endpoint="[a-z.]+"\} [1-9]/m);
    assert.match(metrics, /^cosell_queue_jobs\{state="failed"\} \d+/m);
    assert.match(metrics, /^# TYPE cosell_dead_letters gauge/m);
    const deadLetters = [...metrics.matchAll(/^cosell_dead_letters\{task="[^"]+"\} (\d+)$/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    assert.equal(deadLetters, (await system.relay.operations.listFailedJobs()).length);
    assert.match(metrics, /^cosell_webhook_deliveries_total\{outcome="accepted"\} [1-9]/m);
    assert.match(metrics, /^cosell_jobs_total\{task="inbound-referral-changed",outcome="success"\} [1-9]/m);
    assert.match(metrics, /^process_cpu_seconds_total \d/m);
    assert.match(metrics, /^nodejs_eventloop_lag_seconds /m);
    // Naming conventions: every counter ends in _total; no unit other than seconds or bytes.
    const counters = [...metrics.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]);
    assert.ok(counters.length > 5);
    assert.deepEqual(
      counters.filter((name) => !name.endsWith('_total')),
      [],
    );
    assert.doesNotMatch(metrics, /^cosell_\S*_ms[ {]/m);
  });

  it('times an outbound sync from its event to the referral write, and counts the Partner Center POST', async () => {
    const seller = await signInSeller(system.sandboxes);
    const histogramCount = async () => {
      const text = await (await fetch(`${system.relay.url}/metrics`)).text();
      return Number(/^cosell_sync_latency_seconds_count\{direction="outbound"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await histogramCount();
    const opportunityId = await seller.createOpportunity({ Sync_with_Partner_Center__c: true });
    await waitFor(
      async () =>
        (await system.relay.operations.searchLinks({ q: opportunityId, limit: 1 })).links[0]?.syncStatus ===
        'Synced',
      // Synced is saved after the referral's POST was timed.
      { message: 'the referral created and the pair synced' },
    );
    assert.equal(await histogramCount(), before + 1);
    const metrics = await (await fetch(`${system.relay.url}/metrics`)).text();
    assert.match(
      metrics,
      /^cosell_api_calls_total\{service="partner_center",endpoint="POST \/v1\.0\/engagements\/referrals"\} [1-9]/m,
    );
    assert.match(metrics, /^cosell_sync_writes_total\{direction="outbound"\} [1-9]/m);
  });

  it('charts the syncs it made from the per-minute rollup', async () => {
    const stats = (await (
      await fetch(`${system.relay.url}/api/stats?range=hour`, { headers: bearer })
    ).json()) as {
      slots: Array<{ inbound: number; errors: number; p50: number | null }>;
      totals: { inbound: number; errors: number; p95: number | null };
    };
    assert.equal(stats.slots.length, 60);
    assert.ok(stats.totals.inbound >= 1, 'the synced referrals are counted');
    assert.ok(stats.totals.errors >= 1, 'the failed attempts are counted');
    assert.ok(stats.totals.p95 !== null && stats.totals.p95 > 0);
    const { rows } = await system.relay.database.pool.query<{ n: string }>(
      'select sum(syncs) as n from cosell.sync_minutes',
    );
    assert.equal(
      Number(rows[0].n),
      stats.totals.inbound + (stats as unknown as { totals: { outbound: number } }).totals.outbound,
    );
    const { html } = await page('?range=day');
    assert.match(html, /<strong aria-current="true">Last day<\/strong>/);
    assert.match(html, /Syncs per 15 min/);
    assert.match(
      html,
      /<svg viewBox="0 0 320 120" role="img" aria-label="Syncs per 15 min" class="chart-svg">.*?<rect class="bar s-inbound"/s,
    );
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
