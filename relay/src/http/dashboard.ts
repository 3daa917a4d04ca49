import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { RelayOperations } from '../operations.ts';
import { requireAdmin } from './adminAuth.ts';
import { escapeHtml, panels, toHtml } from './dashboard/view.js';
import type { DashboardData } from './dashboard/view.js';

/**
 * The operator's page at GET /: one self-contained HTML document (no CDN: relays run where there
 * is no internet), guarded like the admin API. The server renders the first paint from the same
 * view code the browser then re-runs every few seconds against /api/*, so the page is useful at
 * once, without JavaScript, and to tests that read it with fetch.
 */

const ASSETS = path.join(import.meta.dirname, 'dashboard');
const read = (file: string) => readFileSync(path.join(ASSETS, file), 'utf8');
const CSS = read('dashboard.css');
// view.js is an ES module; inlined into one module script, its exports are simply unused.
const SCRIPT = `${read('view.js')}\n${read('client.js')}`;

const LEVELS = ['', 'ERROR', 'INFO'] as const;

function section(
  id: string,
  title: string,
  body: string,
  options: { hint?: string; controls?: string; full?: boolean } = {},
): string {
  const heading = `h-${id}`;
  return `<section aria-labelledby="${heading}"${options.full ? ' class="full"' : ''}>
  <h2 id="${heading}">${escapeHtml(title)}${options.hint ? ` <span class="hint">${escapeHtml(options.hint)}</span>` : ''}${options.controls ?? ''}</h2>
  <div id="panel-${id}">${body}</div>
</section>`;
}

export function renderDashboard(data: DashboardData, level: string, nonce: string): string {
  const p = panels(data);
  const html = (id: string) => toHtml(p[`panel-${id}`]);
  const options = LEVELS.map(
    (l) => `<option value="${l}"${l === level ? ' selected' : ''}>${l === '' ? 'All levels' : l}</option>`,
  ).join('');
  const filter = `<form class="filter" method="get" action=""><label for="level">Show</label><select id="level" name="level">${options}</select><noscript><button type="submit">Filter</button></noscript></form>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cosell-sync relay</title>
<style nonce="${nonce}">${CSS}</style>
</head>
<body>
<header>
  <h1>cosell-sync relay</h1>
  <div class="toolbar">
    <p id="updated" aria-live="polite">Rendered ${escapeHtml(data.generatedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</p>
    <label><input type="checkbox" id="auto" checked> Auto-refresh</label>
    <button type="button" data-action="refresh">Refresh now</button>
    <button type="button" class="primary" data-action="reconcile" title="Queue a reconcile: referrals and synced Opportunities changed since the last one">Reconcile now</button>
  </div>
</header>
<main>
  <p id="stale" class="stale full" role="alert" hidden></p>
  <p id="flash" class="flash full" role="status" aria-live="polite"></p>
  <div id="panel-banner" class="full">${html('banner')}</div>
  ${section('health', 'Readiness', html('health'), { full: true })}
  ${section('counts', 'Activity', html('counts'), { full: true })}
  ${section('dead-letters', 'Dead letters', html('dead-letters'), { hint: 'jobs out of attempts: retry once the cause is fixed, or drop', full: true })}
  ${section('links', 'Recent links', html('links'), { hint: 'referral ↔ Opportunity, latest 50' })}
  ${section('audit', 'Audit log', html('audit'), { hint: 'newest first, latest 100', controls: filter })}
</main>
<script type="module" nonce="${nonce}">${SCRIPT}</script>
</body>
</html>`;
}

export function dashboardRouter(deps: {
  operations: RelayOperations;
  adminToken: string | undefined;
}): express.Router {
  const router = express.Router();
  router.get('/', requireAdmin(deps.adminToken), async (req, res) => {
    const ops = deps.operations;
    const level = req.query.level === 'ERROR' || req.query.level === 'INFO' ? req.query.level : undefined;
    const [status, links, audit, deadLetters] = await Promise.all([
      ops.status(),
      ops.listLinks({ limit: 50 }),
      ops.listAudit({ limit: 100, level }),
      ops.listFailedJobs(100),
    ]);
    // Through JSON, so the server renders exactly what the browser later gets from /api (dates as ISO strings).
    const data = JSON.parse(
      JSON.stringify({ status, links, audit, deadLetters, generatedAt: new Date().toISOString() }),
    ) as DashboardData;
    const nonce = randomBytes(16).toString('base64');
    res.set({
      'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
    });
    res.type('html').send(renderDashboard(data, level ?? '', nonce));
  });
  return router;
}
