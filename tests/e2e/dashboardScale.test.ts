import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';

const ADMIN_TOKEN = 'scale-test-admin-token-4242';
const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
const basic = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` };
const LINKS = 10_000;
const referralId = (i: number) => `ref-${String(i).padStart(5, '0')}`;

interface Page {
  links: Array<{ id: number; referralId: string; name: string; syncStatus: string }>;
  total: number;
  next: string | null;
  prev: string | null;
}

describe('dashboard with 10,000 links', () => {
  let system: TestSystem;
  const api = async (path: string): Promise<Page> => {
    const response = await fetch(`${system.relay.url}${path}`, { headers: bearer });
    assert.equal(response.status, 200, path);
    return (await response.json()) as Page;
  };

  before(async () => {
    system = await startTestSystem({ env: { ADMIN_TOKEN } });
    // Link i changed i seconds after the first; statuses rotate; names carry the number.
    await system.relay.database.pool.query(
      `insert into cosell.links (referral_id, opportunity_id, sync_status, outbound_values, updated_at)
       select 'ref-' || lpad(i::text, 5, '0'), '006' || lpad(i::text, 12, '0') || 'AAA',
              (array['Synced', 'Pending', 'Error'])[1 + i % 3],
              jsonb_build_object('name', 'Northwind order ' || i),
              now() - interval '1 day' + make_interval(secs => i)
         from generate_series(1, $1) as i`,
      [LINKS],
    );
    await system.relay.database.pool.query('analyze cosell.links');
  });
  after(() => system?.stop());

  it('the first page of the dashboard lists the 50 most recent of 10,000 links', async () => {
    const response = await fetch(`${system.relay.url}/`, { headers: basic });
    const html = await response.text();
    assert.match(html, /50 of 10,000 links/);
    const ids = [...html.matchAll(/<code>(ref-\d{5})<\/code>/g)].map((m) => m[1]);
    assert.deepEqual(
      ids.slice(0, 50),
      Array.from({ length: 50 }, (_, k) => referralId(LINKS - k)),
    );
  });

  it('the API pages through a status filter without gaps or repeats, newest first', async () => {
    const seen: string[] = [];
    let page = await api('/api/links?status=Error&limit=1000');
    const total = page.total;
    for (;;) {
      seen.push(...page.links.map((l) => l.referralId));
      assert.ok(page.links.every((l) => l.syncStatus === 'Error'));
      if (!page.next) break;
      page = await api(`/api/links?status=Error&limit=1000&after=${encodeURIComponent(page.next)}`);
    }
    const expected = Array.from({ length: LINKS }, (_, k) => LINKS - k)
      .filter((i) => 1 + (i % 3) === 3)
      .map(referralId);
    assert.equal(total, expected.length);
    assert.deepEqual(seen, expected);
  });

  it('finds one link among 10,000 by referral id, Opportunity id and name', async () => {
    assert.deepEqual(
      (await api(`/api/links?q=${referralId(4242)}`)).links.map((l) => l.name),
      ['Northwind order 4242'],
    );
    assert.deepEqual(
      (await api('/api/links?q=006000000009999AAA')).links.map((l) => l.referralId),
      [referralId(9999)],
    );
    const byName = await api('/api/links?q=northwind%20order%20777');
    assert.deepEqual(
      byName.links.map((l) => l.referralId),
      [7779, 7778, 7777, 7776, 7775, 7774, 7773, 7772, 7771, 7770, 777].map(referralId),
    );
    assert.equal(byName.total, 11);
  });
});
