import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { buildPreview } from '../preview/build.ts';
import { startPreviewServer } from '../preview/server.ts';
import type { PreviewServer } from '../preview/server.ts';
import type { PreviewState } from '../preview/states.ts';
import { launchChromium, screenshotPath } from './chromium.ts';
import type { Chromium } from './chromium.ts';

const TIMEOUT = 15_000;

describe('referral panel preview in headless Chromium', () => {
  let server: PreviewServer;
  let browser: Chromium;
  let states: PreviewState[] = [];

  before(async () => {
    const built = await buildPreview();
    states = built.states;
    server = await startPreviewServer(built.dir);
    browser = await launchChromium({ viewport: { width: 480, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Opens one state and returns what the page reported: script errors, console errors, failed requests. */
  async function open(state: PreviewState): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()} ${response.url()}`);
    });
    await page.goto(`${server.url}/?state=${state.name}`);
    await page
      .locator(`body[data-rendered="${state.name}"]`)
      .waitFor({ timeout: TIMEOUT })
      .catch((error: Error) => {
        throw new Error(`state ${state.name} did not render: ${[error.message, ...problems].join('\n')}`);
      });
    return { page, problems };
  }

  it('renders every state of the panel, each with its expected text and no error', async () => {
    assert.ok(
      [
        'loading',
        'load-error',
        'not-synced',
        'pending',
        'synced',
        'error',
        'read-only',
        'inbox',
        'inbox-expired',
      ].every((name) => states.some((state) => state.name === name)),
      `expected every panel state, got ${states.map((s) => s.name).join(', ')}`,
    );
    for (const state of states) {
      const { page, problems } = await open(state);
      try {
        await page.locator('c-referral-panel lightning-card').waitFor({ timeout: TIMEOUT });
        for (const text of state.expectText) {
          await page
            .getByText(text, { exact: false })
            .first()
            .waitFor({ timeout: TIMEOUT })
            .catch(() => problems.push(`missing text: ${JSON.stringify(text)}`));
        }
        if (state.name === 'loading') {
          await page.locator('lightning-spinner').waitFor({ timeout: TIMEOUT });
        }
        await page.screenshot({ path: screenshotPath(`panel-${state.name}`), fullPage: true });
        assert.deepEqual(problems, [], `state ${state.name}`);
      } finally {
        await page.close();
      }
    }
  });

  it('accepts and declines an incoming referral through the inbox and shows the answer', async () => {
    const inbox = states.find((state) => state.name === 'inbox');
    assert.ok(inbox, 'the preview has an inbox state');
    for (const [answer, shown, screenshot] of [
      ['accept', 'You accepted this referral', 'panel-inbox-accepted'],
      ['decline', 'You declined this referral', 'panel-inbox-declined'],
    ] as const) {
      const { page, problems } = await open(inbox);
      try {
        if (answer === 'accept') {
          await page.getByRole('button', { name: 'Accept' }).click({ timeout: TIMEOUT });
        } else {
          await page.getByRole('button', { name: 'Decline…' }).click({ timeout: TIMEOUT });
          await page.getByRole('combobox', { name: 'Why are you declining?' }).click({ timeout: TIMEOUT });
          await page.getByRole('option', { name: 'Customer region not served' }).click({ timeout: TIMEOUT });
          await page.getByRole('button', { name: 'Decline referral' }).click({ timeout: TIMEOUT });
        }
        await page.getByText(shown).first().waitFor({ timeout: TIMEOUT });
        await page.getByText('Partner Center will show it').first().waitFor({ timeout: TIMEOUT });
        await page.screenshot({
          path: screenshotPath(screenshot),
          fullPage: true,
        });
        assert.deepEqual(problems, [], `inbox ${answer}`);
      } finally {
        await page.close();
      }
    }
  });

  it('fails a state whose page names text the panel does not show', async () => {
    // The check above must be able to fail: a text no state renders is reported missing.
    const { page, problems } = await open(states[2]);
    try {
      await page
        .getByText('This text is in no state of the panel', { exact: false })
        .first()
        .waitFor({ timeout: 1_000 })
        .catch(() => problems.push('missing text'));
      assert.deepEqual(problems, ['missing text']);
    } finally {
      await page.close();
    }
  });
});
