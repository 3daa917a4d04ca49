import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SANDBOX_PARTNER_USER } from '../../relay/sandbox/index.ts';
import { MAX_FAILED_TOKENS } from '../../relay/src/http/adminAuth.ts';
import { startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { waitFor } from '../support/waitFor.ts';

const ADMIN_TOKEN = 'probe-test-admin-token-0123456789';
const METRICS_TOKEN = 'probe-test-metrics-token-9876543210';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * Readiness probes and the admin surface of a relay with ADMIN_TOKEN and METRICS_TOKEN set:
 * what an unauthenticated caller learns, what a flood of probes costs, and the headers and limits
 * around the admin token.
 */
describe('probes and the admin surface', () => {
  let system: TestSystem;

  before(async () => {
    system = await startTestSystem({
      env: { ADMIN_TOKEN, METRICS_TOKEN, RECONCILE_CRON: '0 0 1 1 *' },
    });
  });
  after(() => system?.stop());

  it('answers an unauthenticated /readyz with ready or not and the failing check names only', async () => {
    // The subscriber has received an event, so there is a replay id to leak.
    await waitFor(async () => (await system.relay.operations.status()).checks.subscriber.lastReplayId, {
      message: 'a committed replay id',
    });
    const anonymous = await fetch(`${system.relay.url}/readyz`);
    const text = await anonymous.text();
    assert.equal(anonymous.status, 200, text);
    assert.deepEqual(JSON.parse(text), { ready: true, failing: [] });
    assert.ok(!text.includes(SANDBOX_PARTNER_USER), 'no account');

    const admin = await fetch(`${system.relay.url}/readyz`, { headers: bearer(ADMIN_TOKEN) });
    const detailed = (await admin.json()) as {
      checks: { partnerCenterToken: { account?: string }; subscriber: { lastReplayId: string | null } };
    };
    assert.equal(detailed.checks.partnerCenterToken.account, SANDBOX_PARTNER_USER);
    assert.ok(detailed.checks.subscriber.lastReplayId);

    // A wrong token gets the short answer, not the details.
    const wrong = await fetch(`${system.relay.url}/readyz`, {
      headers: { ...bearer('not-the-admin-token-at-all'), 'x-forwarded-for': '198.51.100.1' },
    });
    assert.deepEqual(Object.keys((await wrong.json()) as object).sort(), ['failing', 'ready']);
  });

  it('sends Cache-Control no-store and nosniff on every /api answer, refusals included', async () => {
    for (const headers of [bearer(ADMIN_TOKEN), {}]) {
      const response = await fetch(`${system.relay.url}/api/status`, { headers });
      await response.arrayBuffer();
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    }
  });

  it('requires METRICS_TOKEN on /metrics when it is set', async () => {
    const anonymous = await fetch(`${system.relay.url}/metrics`);
    await anonymous.arrayBuffer();
    assert.equal(anonymous.status, 401);
    const scraped = await fetch(`${system.relay.url}/metrics`, { headers: bearer(METRICS_TOKEN) });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /cosell_webhook_deliveries_total|# TYPE/);
  });

  it('refuses an address with 429 after ten wrong admin tokens in a minute, even with the right one, and not other addresses', async () => {
    const from = (address: string, token: string) =>
      fetch(`${system.relay.url}/api/status`, {
        headers: { ...bearer(token), 'x-forwarded-for': address },
      });
    for (let i = 0; i < MAX_FAILED_TOKENS; i++) {
      const wrong = await from('203.0.113.7', `wrong-token-${i}`);
      await wrong.arrayBuffer();
      assert.equal(wrong.status, 401);
    }
    const blocked = await from('203.0.113.7', ADMIN_TOKEN);
    await blocked.arrayBuffer();
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
    const other = await from('203.0.113.8', ADMIN_TOKEN);
    await other.arrayBuffer();
    assert.equal(other.status, 200);
  });

  // Last: it revokes the sandbox user's refresh tokens.
  it('makes at most one Entra token request for 50 concurrent probes while Entra refuses the refresh', async () => {
    const entra = system.sandboxes.entra;
    assert.ok(entra.revokeRefreshTokens(SANDBOX_PARTNER_USER) > 0);
    // A freshly started instance has not proven the refresh token yet: its probes must check it.
    const restarted = await system.startAnotherRelay();
    const before = entra.counters.tokenRequests;
    const answers = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const response = await fetch(`${restarted.url}/readyz`);
        return { status: response.status, body: (await response.json()) as { failing: string[] } };
      }),
    );
    assert.ok(
      entra.counters.tokenRequests - before <= 1,
      `${entra.counters.tokenRequests - before} requests`,
    );
    for (const answer of answers) {
      assert.equal(answer.status, 503);
      assert.ok(answer.body.failing.includes('partnerCenterToken'), JSON.stringify(answer.body));
    }
    // The detail is there for an admin, from the same remembered failure.
    const admin = (await (
      await fetch(`${restarted.url}/readyz`, { headers: bearer(ADMIN_TOKEN) })
    ).json()) as { checks: { partnerCenterToken: { status: string; detail?: string } } };
    assert.equal(admin.checks.partnerCenterToken.status, 'failed');
    assert.match(admin.checks.partnerCenterToken.detail ?? '', /AADSTS50173/);
    assert.ok(entra.counters.tokenRequests - before <= 1);
  });
});
