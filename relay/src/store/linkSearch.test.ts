import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase } from '../../../tests/support/postgres.ts';
import { migrate } from './migrate.ts';
import { isCursor, listPairAudit, searchLinks } from './linkSearch.ts';
import type { LinkSummary } from './linkSearch.ts';
import { addSyncMinutes, readSyncMinutes } from './syncMinutes.ts';
import { recordAudit } from './audit.ts';
import { emptyBuckets } from '../syncRollup.ts';

const LINKS = 10_000;
const opportunityId = (i: number) => `006${String(i).padStart(12, '0')}AAA`;
const referralId = (i: number) => `ref-${String(i).padStart(5, '0')}`;

describe('link search over 10,000 links', () => {
  let pool: pg.Pool;

  before(async () => {
    pool = new pg.Pool({ connectionString: await createTestDatabase('linksearch') });
    await migrate(pool);
    // Link i changed i seconds after the first; every seventh is in Error, the name says which one it is.
    await pool.query(
      `insert into cosell.links (referral_id, opportunity_id, sync_status, outbound_values, updated_at)
       select 'ref-' || lpad(i::text, 5, '0'), '006' || lpad(i::text, 12, '0') || 'AAA',
              (array['Synced', 'Pending', 'Error'])[1 + i % 3],
              jsonb_build_object('name', 'Contoso deal ' || i || case when i % 1000 = 0 then ' Fabrikam' else '' end),
              timestamptz '2026-01-01T00:00:00Z' + make_interval(secs => i)
         from generate_series(1, $1) as i`,
      [LINKS],
    );
    await pool.query('analyze cosell.links');
  });
  after(() => pool?.end());

  test('the first page holds the most recently changed links, with the total', async () => {
    const page = await searchLinks(pool, { limit: 50 });
    assert.equal(page.total, LINKS);
    assert.deepEqual(
      page.links.map((l) => l.referralId),
      Array.from({ length: 50 }, (_, k) => referralId(LINKS - k)),
    );
    assert.equal(page.prev, null);
    assert.ok(page.next && isCursor(page.next));
  });

  test('paging older then newer visits every link once, in order, and comes back to the same page', async () => {
    const seen: LinkSummary[] = [];
    const cursors: Array<string | undefined> = [undefined];
    let page = await searchLinks(pool, { limit: 500 });
    for (;;) {
      seen.push(...page.links);
      if (!page.next) break;
      cursors.push(page.next);
      page = await searchLinks(pool, { limit: 500, after: page.next });
    }
    assert.equal(seen.length, LINKS);
    assert.equal(new Set(seen.map((l) => l.id)).size, LINKS);
    assert.deepEqual(
      seen.map((l) => l.referralId),
      Array.from({ length: LINKS }, (_, k) => referralId(LINKS - k)),
    );
    assert.equal(page.links.at(-1)?.referralId, referralId(1));
    // From the third page, "newer" is the second page again.
    const third = await searchLinks(pool, { limit: 500, after: cursors[2] });
    const second = await searchLinks(pool, { limit: 500, after: cursors[1] });
    const back = await searchLinks(pool, { limit: 500, before: third.prev! });
    assert.deepEqual(
      back.links.map((l) => l.id),
      second.links.map((l) => l.id),
    );
    assert.equal(back.next, second.next);
  });

  test('a status filter counts and pages only that status', async () => {
    const page = await searchLinks(pool, { status: 'Error', limit: 20 });
    assert.equal(page.total, Math.floor(LINKS / 3) + (LINKS % 3 >= 2 ? 1 : 0));
    assert.ok(page.links.every((l) => l.syncStatus === 'Error'));
    const next = await searchLinks(pool, { status: 'Error', limit: 20, after: page.next! });
    assert.ok(next.links.every((l) => l.syncStatus === 'Error'));
    assert.equal(next.links[0].referralId, referralId(Number(page.links.at(-1)!.referralId!.slice(4)) - 3));
  });

  test('finds a link by referral id, by 18- or 15-character Opportunity id, and by part of its name', async () => {
    const byReferral = await searchLinks(pool, { q: referralId(4242), limit: 50 });
    assert.deepEqual(
      byReferral.links.map((l) => l.opportunityId),
      [opportunityId(4242)],
    );
    assert.equal(byReferral.total, 1);
    const byOpportunity = await searchLinks(pool, { q: opportunityId(77), limit: 50 });
    assert.deepEqual(
      byOpportunity.links.map((l) => l.referralId),
      [referralId(77)],
    );
    const by15 = await searchLinks(pool, { q: opportunityId(77).slice(0, 15), limit: 50 });
    assert.deepEqual(
      by15.links.map((l) => l.referralId),
      [referralId(77)],
    );
    const byName = await searchLinks(pool, { q: 'fabrikam', limit: 50 });
    assert.equal(byName.total, 10);
    assert.deepEqual(
      byName.links.map((l) => l.name),
      [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((k) => `Contoso deal ${k * 1000} Fabrikam`),
    );
    const combined = await searchLinks(pool, { q: 'Fabrikam', status: 'Pending', limit: 50 });
    assert.deepEqual(
      combined.links.map((l) => l.referralId),
      [10, 7, 4, 1].map((k) => referralId(k * 1000)),
    );
  });

  test('search text is matched literally, LIKE wildcards included', async () => {
    assert.equal((await searchLinks(pool, { q: '%', limit: 5 })).total, 0);
    assert.equal((await searchLinks(pool, { q: 'deal _', limit: 5 })).total, 0);
  });

  test('searches and pages use the indexes, not a sort of the whole table', async () => {
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
      `explain select id from cosell.links where sync_status = 'Error' and (updated_at, id) < (now(), 5000)
        order by updated_at desc, id desc limit 51`,
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(plan, /Index Scan using links_(status_)?recent/);
    assert.doesNotMatch(plan, /Sort/);
  });

  test("a pair's history holds the audit events of both its referral and its Opportunity", async () => {
    await recordAudit(pool, {
      direction: 'inbound',
      level: 'INFO',
      referralId: referralId(5),
      message: 'in',
    });
    await recordAudit(pool, {
      direction: 'outbound',
      level: 'ERROR',
      opportunityId: opportunityId(5),
      message: 'out',
    });
    await recordAudit(pool, {
      direction: 'inbound',
      level: 'INFO',
      referralId: referralId(6),
      message: 'other',
    });
    const events = await listPairAudit(pool, referralId(5), opportunityId(5), 10);
    assert.deepEqual(
      events.map((e) => e.message),
      ['out', 'in'],
    );
  });
});

test('per-minute sync counts from several flushes (and instances) add up in one row', async () => {
  const pool = new pg.Pool({ connectionString: await createTestDatabase('syncminutes') });
  try {
    await migrate(pool);
    const minute = new Date('2026-03-01T10:15:00Z');
    const buckets = (i: number, n: number) => emptyBuckets().map((_, k) => (k === i ? n : 0));
    await addSyncMinutes(pool, [
      { minute, direction: 'inbound', syncs: 2, errors: 1, latencyBuckets: buckets(2, 2) },
      { minute, direction: 'outbound', syncs: 1, errors: 0, latencyBuckets: buckets(0, 1) },
    ]);
    await addSyncMinutes(pool, [
      { minute, direction: 'inbound', syncs: 3, errors: 0, latencyBuckets: buckets(5, 3) },
    ]);
    const rows = await readSyncMinutes(pool, new Date('2026-03-01T10:00:00Z'));
    const inbound = rows.find((r) => r.direction === 'inbound');
    assert.equal(rows.length, 2);
    assert.equal(inbound?.syncs, 5);
    assert.equal(inbound?.errors, 1);
    assert.deepEqual(
      inbound?.latencyBuckets,
      emptyBuckets().map((_, k) => (k === 2 ? 2 : k === 5 ? 3 : 0)),
    );
  } finally {
    await pool.end();
  }
});
