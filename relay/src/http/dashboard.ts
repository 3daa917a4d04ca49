import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { RelayOperations } from '../operations.ts';
import { linkSearchOf } from './adminApi.ts';
import { requireAdmin } from './adminAuth.ts';
import { escapeHtml, pairView, panels, toHtml } from './dashboard/view.js';
import type { DashboardData, DashboardQuery } from './dashboard/view.js';

/**
 * The operator's pages: GET / (overview, link search, charts, dead letters) and GET /links/:id
 * (one pair, both sides read live). Self-contained HTML documents (no CDN: relays run where there
 * is no internet), guarded like the admin API. The server renders the first paint from the same
 * view code the browser then re-runs every few seconds against /api/*, so the page is useful at
 * once, without JavaScript, and to tests that read it with fetch.
 */

const ASSETS = path.join(import.meta.dirname, 'dashboard');
const read = (file: string) => readFileSync(path.join(ASSETS, file), 'utf8');
const CSS = read('dashboard.css');
const FAVICON = read('favicon.svg');
// view.js is an ES module; inlined into one module script, its exports are simply unused.
const SCRIPT = `${read('view.js')}\n${read('client.js')}`;

const LEVELS = ['', 'ERROR', 'INFO'] as const;
const STATUSES = ['', 'Synced', 'Pending', 'Error'] as const;

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

/** Hidden inputs that carry the page's other parameters through a form's GET. */
function keep(query: DashboardQuery, names: Array<keyof DashboardQuery>): string {
  return names
    .filter((name) => query[name])
    .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(query[name])}">`)
    .join('');
}

function options(values: readonly string[], selected: string, emptyLabel: string): string {
  return values
    .map(
      (v) =>
        `<option value="${v}"${v === selected ? ' selected' : ''}>${v === '' ? emptyLabel : escapeHtml(v)}</option>`,
    )
    .join('');
}

function document(options: { title: string; nonce: string; favicon: string; body: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<link rel="icon" href="${options.favicon}" type="image/svg+xml">
<style nonce="${options.nonce}">${CSS}</style>
</head>
<body>
${options.body}
</body>
</html>`;
}

export function renderDashboard(data: DashboardData, nonce: string): string {
  const p = panels(data);
  const html = (id: string) => toHtml(p[`panel-${id}`]);
  const query = data.query;
  const level = query.level ?? '';
  const filter = `<form class="filter" method="get" action=""><label for="level">Show</label><select id="level" name="level">${options(LEVELS, level, 'All levels')}</select>${keep(query, ['q', 'status', 'range'])}<noscript><button type="submit">Filter</button></noscript></form>`;
  const clear =
    query.q || query.status
      ? ` <a href="?${query.range ? `range=${escapeHtml(query.range)}` : ''}">Clear</a>`
      : '';
  const search = `<form class="search" method="get" action="" role="search">
    <label for="q" class="visually-hidden">Search links</label>
    <input type="search" id="q" name="q" value="${escapeHtml(query.q ?? '')}" placeholder="Referral id, Opportunity id or name" maxlength="200">
    <label for="status" class="visually-hidden">Sync status</label>
    <select id="status" name="status">${options(STATUSES, query.status ?? '', 'Any status')}</select>
    ${keep(query, ['level', 'range'])}<button type="submit">Search</button>${clear}
  </form>`;
  return document({
    title: 'cosell-sync relay',
    nonce,
    favicon: 'favicon.svg',
    body: `<header>
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
  ${section('charts', 'Syncs', html('charts'), { hint: 'from the per-minute counts every instance keeps in PostgreSQL', full: true })}
  ${section('dead-letters', 'Dead letters', html('dead-letters'), { hint: 'jobs out of attempts: retry once the cause is fixed, or drop', full: true })}
  ${section('links', 'Links', html('links'), { hint: 'referral ↔ Opportunity, most recently changed first', controls: search, full: true })}
  ${section('audit', 'Audit log', html('audit'), { hint: 'newest first, latest 100', controls: filter, full: true })}
</main>
<script type="module" nonce="${nonce}">${SCRIPT}</script>`,
  });
}

export function renderPair(
  detail: Parameters<typeof pairView>[0],
  title: string,
  now: string,
  nonce: string,
): string {
  return document({
    title: `${title} · cosell-sync relay`,
    nonce,
    favicon: '../favicon.svg',
    body: `<header>
  <h1><a href="../" class="home">cosell-sync relay</a> <span class="crumb">/ ${escapeHtml(title)}</span></h1>
  <div class="toolbar"><a class="button" href="">Read both sides again</a></div>
</header>
<main>${toHtml(pairView(detail, now))}</main>`,
  });
}

function message(status: number, title: string, text: string, nonce: string, favicon: string): string {
  return document({
    title,
    nonce,
    favicon,
    body: `<header><h1>cosell-sync relay</h1></header><main><section><h2>${escapeHtml(title)}</h2><p>${escapeHtml(text)}</p><p><a href="${favicon.startsWith('..') ? '../' : './'}">Back to the dashboard</a></p></section></main>`,
  });
}

function securityHeaders(res: express.Response, nonce: string): void {
  res.set({
    'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  });
}

const queryText = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);

export function dashboardRouter(deps: {
  operations: RelayOperations;
  adminToken: string | undefined;
}): express.Router {
  const router = express.Router();
  // The icon says nothing about the relay, so it needs no token (browsers fetch it without asking).
  router.get(['/favicon.svg', '/favicon.ico'], (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400').type('image/svg+xml').send(FAVICON);
  });

  router.get('/', requireAdmin(deps.adminToken), async (req, res) => {
    const ops = deps.operations;
    const nonce = randomBytes(16).toString('base64');
    securityHeaders(res, nonce);
    const level = req.query.level === 'ERROR' || req.query.level === 'INFO' ? req.query.level : undefined;
    const range = req.query.range === 'day' ? 'day' : 'hour';
    const search = linkSearchOf(req.query, 50);
    if (typeof search === 'string') {
      res
        .status(400)
        .type('html')
        .send(message(400, 'Bad search', search, nonce, 'favicon.svg'));
      return;
    }
    const [status, links, audit, deadLetters, deadLetterKinds, stats] = await Promise.all([
      ops.status(),
      ops.searchLinks(search),
      ops.listAudit({ limit: 100, level }),
      ops.listFailedJobs(100),
      ops.deadLetterKinds(),
      ops.syncSeries(range),
    ]);
    const query: DashboardQuery = {
      q: search.q,
      status: search.status,
      level,
      range: queryText(req.query.range) === 'day' ? 'day' : undefined,
    };
    // Through JSON, so the server renders exactly what the browser later gets from /api (dates as ISO strings).
    const data = JSON.parse(
      JSON.stringify({
        status,
        links,
        audit,
        deadLetters,
        deadLetterKinds,
        stats,
        query,
        generatedAt: new Date().toISOString(),
      }),
    ) as DashboardData;
    res.type('html').send(renderDashboard(data, nonce));
  });

  router.get('/links/:id', requireAdmin(deps.adminToken), async (req, res) => {
    const nonce = randomBytes(16).toString('base64');
    securityHeaders(res, nonce);
    const id = String(req.params.id);
    const detail = /^\d{1,18}$/.test(id) ? await deps.operations.pairDetail(Number(id)) : null;
    if (!detail) {
      res
        .status(404)
        .type('html')
        .send(message(404, 'No such link', `There is no link ${id}.`, nonce, '../favicon.svg'));
      return;
    }
    const json = JSON.parse(JSON.stringify(detail)) as typeof detail;
    const title = json.link.name ?? json.link.referralId ?? json.link.opportunityId ?? `link ${json.link.id}`;
    res.type('html').send(renderPair(json, title, new Date().toISOString(), nonce));
  });
  return router;
}
