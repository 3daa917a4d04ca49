import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { waitForQueueIdle } from '../support/inboundChecks.ts';
import { waitFor } from '../support/waitFor.ts';
import { addSyncMinutes } from '../../relay/src/store/syncMinutes.ts';
import { bucketIndex, emptyBuckets, minuteOf } from '../../relay/src/syncRollup.ts';
import { launchChromium, screenshotPath } from './chromium.ts';
import type { Chromium } from './chromium.ts';

const ADMIN_TOKEN = 'browser-test-admin-token-42';
const TIMEOUT = 15_000;
// Runs in the page (this file is compiled without the DOM's types, hence the cast).
const OVERFLOW = () => {
  const page = globalThis as unknown as {
    document: { documentElement: { scrollWidth: number } };
    innerWidth: number;
  };
  return page.document.documentElement.scrollWidth - page.innerWidth;
};

describe('dashboard in headless Chromium', () => {
  let system: TestSystem;
  let browser: Chromium;
  let page: Page;
  // What the page itself reports: script errors, CSP violations, failed requests (a 404 favicon).
  const problems: string[] = [];

  async function deadLetter(): Promise<string> {
    await waitForQueueIdle(system.relay.database.pool);
    const known = new Set((await system.relay.operations.listFailedJobs()).map((j) => j.id));
    system.sandboxes.partnerCenter.faults.failNext(4);
    system.sandboxes.partnerCenter.referrals.createAsMicrosoft(sampleReferral({ name: 'Doomed deal' }));
    const job = await waitFor(
      async () => (await system.relay.operations.listFailedJobs()).find((j) => !known.has(j.id)),
      { message: 'a dead letter' },
    );
    return job.id;
  }

  async function synced(name: string): Promise<number> {
    const referral = system.sandboxes.partnerCenter.referrals.createAsMicrosoft(sampleReferral({ name }));
    const link = await waitFor(
      async () =>
        (await system.relay.operations.searchLinks({ q: referral.id as string, limit: 1 })).links.find(
          (l) => l.syncStatus === 'Synced',
        ),
      { message: `${name} synced` },
    );
    return link.id;
  }

  const watch = (p: Page) => {
    p.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    p.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    p.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()} ${response.url()}`);
    });
  };

  before(async () => {
    system = await startTestSystem({ env: { ADMIN_TOKEN, JOB_MAX_ATTEMPTS: '1' } });
    for (const name of ['Wombat rollout', 'Numbat analytics', 'Bilby platform']) await synced(name);
    // The half hour before: outbound syncs every minute, some slower, a few failed attempts.
    const now = Date.now();
    await addSyncMinutes(
      system.relay.database.pool,
      Array.from({ length: 30 }, (_, k) => {
        const buckets = emptyBuckets();
        buckets[bucketIndex(0.18)] = 5 + (k % 7);
        buckets[bucketIndex(k % 10 === 0 ? 1.5 : 0.4)] = 1;
        return {
          minute: minuteOf(new Date(now - (31 - k) * 60_000)),
          direction: 'outbound' as const,
          syncs: 6 + (k % 7),
          errors: k % 9 === 0 ? 2 : 0,
          latencyBuckets: buckets,
        };
      }),
    );
    browser = await launchChromium({
      httpCredentials: { username: 'admin', password: ADMIN_TOKEN },
      viewport: { width: 1280, height: 900 },
    });
    page = await browser.context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    watch(page);
  });
  after(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('loads the dashboard, with its charts drawn, and no script error, CSP violation or 404', async () => {
    await page.goto(`${system.relay.url}/`);
    await page.locator('.readiness.ready').waitFor();
    // The browser's refresh has replaced the server's first paint: the page's script runs under the CSP.
    await page.locator('#updated', { hasText: /^Updated/ }).waitFor();
    const charts = page.locator('#panel-charts svg.chart-svg');
    assert.equal(await charts.count(), 3);
    // Three syncs happened this minute: the inbound bar is drawn, in the SVG namespace, with a size.
    const bar = page.locator('#panel-charts rect.bar.s-inbound').last();
    const box = await bar.boundingBox();
    assert.ok(box && box.height > 0 && box.width > 0, 'an inbound bar with a size');
    assert.equal(await bar.evaluate((el) => el.namespaceURI), 'http://www.w3.org/2000/svg');
    assert.equal(
      await page.locator('#panel-charts rect.bar.s-outbound').count(),
      30,
      'one bar per seeded minute',
    );
    assert.equal(await page.locator('#panel-charts rect.bar.s-errors').count(), 4);
    assert.ok(
      (await page.locator('#panel-charts circle.dot.s-p95').count()) >= 31,
      'a p95 point per minute with syncs',
    );
    assert.equal(await page.locator('#panel-links tbody tr').count(), 3);
    await page.screenshot({ path: screenshotPath('1-dashboard'), fullPage: true });
    await page.locator('#panel-charts').screenshot({ path: screenshotPath('2-charts') });
    assert.deepEqual(problems, []);
  });

  it('searches by name and opens the pair, with both sides and the mapping', async () => {
    await page.fill('#q', 'numbat');
    await Promise.all([page.waitForURL(/\?q=numbat/), page.press('#q', 'Enter')]);
    const rows = page.locator('#panel-links tbody tr');
    assert.equal(await rows.count(), 1);
    assert.match(
      (await page.locator('#panel-links .pager-summary').first().textContent()) ?? '',
      /1 of 1 matching link/,
    );
    await page.screenshot({ path: screenshotPath('3-search'), fullPage: true });
    // Picking a status searches at once (the script submits the form).
    await Promise.all([page.waitForURL(/status=Error/), page.selectOption('#status', 'Error')]);
    assert.match((await page.locator('#panel-links').textContent()) ?? '', /No links match this search/);
    await page.goBack();
    await Promise.all([page.waitForURL(/\/links\/\d+$/), page.click('#panel-links a.pair-link')]);
    await page.getByText('both sides agree').waitFor();
    assert.match((await page.locator('h1').textContent()) ?? '', /Numbat analytics/);
    assert.equal(await page.locator('section.side-ok').count(), 2);
    assert.ok((await page.locator('tr[data-field="name"]').textContent())?.includes('Numbat analytics'));
    assert.ok(
      (
        await page.locator('a', { hasText: 'Open the referral in Partner Center' }).getAttribute('href')
      )?.startsWith('https://partner.microsoft.com/'),
    );
    assert.ok((await page.locator('a', { hasText: 'Open the Opportunity in Salesforce' }).count()) === 1);
    await page.screenshot({ path: screenshotPath('4-pair'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  it('retries one dead letter, then drops another after confirming', async () => {
    const retried = await deadLetter();
    const dropped = await deadLetter();
    await page.goto(`${system.relay.url}/`);
    const retryRow = page.locator(`tr[data-job-id="${retried}"]`);
    await retryRow.waitFor();
    assert.equal(await page.locator('button[data-action="retry-kind"]').count(), 1, 'one kind of error');
    await page.screenshot({ path: screenshotPath('5-dead-letters'), fullPage: true });
    await page.click(`button[data-action="retry"][data-job="${retried}"]`);
    await page.getByText(`Job ${retried} is back in the queue with fresh attempts.`).waitFor();
    await retryRow.waitFor({ state: 'detached' });
    await page.screenshot({ path: screenshotPath('6-retried'), fullPage: true });

    const dialogs: string[] = [];
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await page.click(`button[data-action="drop"][data-job="${dropped}"]`);
    await page.getByText(`Job ${dropped} dropped (recorded in the audit log).`).waitFor();
    await page.locator(`tr[data-job-id="${dropped}"]`).waitFor({ state: 'detached' });
    assert.match(dialogs[0] ?? '', new RegExp(`Drop job ${dropped}`));
    await page.screenshot({ path: screenshotPath('7-dropped'), fullPage: true });
    assert.ok(
      (await system.relay.operations.listFailedJobs()).every((j) => j.id !== retried && j.id !== dropped),
    );
    assert.deepEqual(problems, []);
  });

  it('works without JavaScript: search, a page of older links and the pair page are plain links and forms', async () => {
    const plain = await launchChromium({
      httpCredentials: { username: 'admin', password: ADMIN_TOKEN },
      javaScriptEnabled: false,
    });
    try {
      const p = await plain.context.newPage();
      p.setDefaultTimeout(TIMEOUT);
      watch(p);
      await p.goto(`${system.relay.url}/?range=day`);
      await p.locator('#panel-charts svg.chart-svg').first().waitFor();
      assert.match((await p.locator('#updated').textContent()) ?? '', /^Rendered /);
      await p.fill('#q', 'wombat');
      await Promise.all([p.waitForURL(/q=wombat/), p.press('#q', 'Enter')]);
      assert.match(p.url(), /range=day/, 'the chart range is kept');
      assert.equal(await p.locator('#panel-links tbody tr').count(), 1);
      await Promise.all([p.waitForURL(/\/links\/\d+$/), p.click('#panel-links a.pair-link')]);
      await p.getByText('both sides agree').waitFor();
      await p.screenshot({ path: screenshotPath('10-no-javascript-pair'), fullPage: true });

      // Sixty more links, older than the synced ones: a second page.
      await system.relay.database.pool.query(
        `insert into cosell.links (referral_id, sync_status, inbound_values, updated_at)
         select 'seeded-' || i, 'Pending', jsonb_build_object('Name', 'Seeded link ' || i), now() - make_interval(days => 1, secs => 100 - i)
           from generate_series(1, 60) as i`,
      );
      await p.goto(`${system.relay.url}/?q=seeded`);
      assert.match(
        (await p.locator('.pager-summary').first().textContent()) ?? '',
        /^50 of 60 matching links$/,
      );
      assert.equal(await p.locator('#panel-links a.pair-link').first().textContent(), 'Seeded link 60');
      await Promise.all([p.waitForURL(/after=/), p.locator('a[rel="next"]').first().click()]);
      const older = p.locator('#panel-links a.pair-link');
      assert.equal(await older.count(), 10);
      assert.equal(await older.first().textContent(), 'Seeded link 10');
      assert.equal(await older.last().textContent(), 'Seeded link 1');
      assert.equal(await p.locator('a[rel="next"]').count(), 0, 'no page after the last');
      await p.screenshot({ path: screenshotPath('11-no-javascript-older-page'), fullPage: true });
      await Promise.all([p.waitForURL(/before=/), p.locator('a[rel="prev"]').first().click()]);
      assert.equal(await p.locator('#panel-links a.pair-link').first().textContent(), 'Seeded link 60');
      assert.equal(await p.locator('a[rel="prev"]').count(), 0, 'no page before the first');
    } finally {
      await plain.close();
    }
    assert.deepEqual(problems, []);
  });

  it('at 400 px wide shows every link as a card with its status, and nothing scrolls sideways', async () => {
    await deadLetter();
    const narrow = await browser.context.newPage();
    watch(narrow);
    narrow.setDefaultTimeout(TIMEOUT);
    try {
      await narrow.setViewportSize({ width: 400, height: 860 });
      await narrow.goto(`${system.relay.url}/`);
      await narrow.locator('#updated', { hasText: /^Updated/ }).waitFor();
      const overflow = Number(await narrow.evaluate(OVERFLOW));
      assert.ok(overflow <= 0, `page is ${overflow} px wider than the screen`);
      const badges = narrow.locator('#panel-links tbody tr .badge');
      const count = await badges.count();
      assert.ok(count >= 4);
      for (let i = 0; i < count; i++) {
        const box = await badges.nth(i).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 400, `status ${i} on screen`);
        assert.ok(await badges.nth(i).isVisible());
      }
      // Cards, not a table: the header row is hidden and each cell is labelled.
      assert.equal(await narrow.locator('#panel-links thead').isVisible(), false);
      assert.equal(
        await narrow
          .locator('#panel-links td[data-label="Status"]')
          .first()
          .evaluate((el) => el.ownerDocument.defaultView?.getComputedStyle(el, '::before').content),
        '"Status"',
      );
      await narrow.screenshot({ path: screenshotPath('8-narrow-400px'), fullPage: true });
      await narrow
        .locator('section[aria-labelledby="h-links"]')
        .screenshot({ path: screenshotPath('8b-narrow-links') });
      await narrow
        .locator('section[aria-labelledby="h-dead-letters"]')
        .screenshot({ path: screenshotPath('8c-narrow-dead-letters') });
      const pair = await narrow.locator('#panel-links a.pair-link').first().getAttribute('href');
      await narrow.goto(`${system.relay.url}/${pair}`);
      await narrow.locator('.pair-status .badge').waitFor();
      const pairOverflow = Number(await narrow.evaluate(OVERFLOW));
      assert.ok(pairOverflow <= 0, `pair page is ${pairOverflow} px wider than the screen`);
      await narrow.screenshot({ path: screenshotPath('9-narrow-pair'), fullPage: true });
    } finally {
      await narrow.close();
    }
    assert.deepEqual(problems, []);
  });
});
