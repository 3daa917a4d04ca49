// The dashboard's panels, written once and run in two places: the server renders the first paint
// with toHtml (so the page reads without JavaScript and tests can read it), and the browser
// re-renders the same trees with toDom on every refresh. Plain JavaScript with no imports, because
// the page inlines this file as is (see view.d.ts for its types). Data is only ever placed in text
// nodes and attribute values, escaped by toHtml or set through the DOM; never parsed as HTML.

export function h(tag, attrs, ...children) {
  return {
    tag,
    attrs: attrs || {},
    children: children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false),
  };
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const VOID = new Set(['br', 'hr', 'input', 'meta', 'link']);

export function toHtml(node) {
  if (typeof node === 'string' || typeof node === 'number') return escapeHtml(node);
  let attrs = '';
  for (const [name, value] of Object.entries(node.attrs)) {
    if (value === false || value === null || value === undefined) continue;
    attrs += value === true ? ` ${name}` : ` ${name}="${escapeHtml(value)}"`;
  }
  if (VOID.has(node.tag)) return `<${node.tag}${attrs}>`;
  return `<${node.tag}${attrs}>${node.children.map(toHtml).join('')}</${node.tag}>`;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function toDom(node, doc, inSvg) {
  if (typeof node === 'string' || typeof node === 'number') return doc.createTextNode(String(node));
  // The charts are SVG: their elements only draw when created in the SVG namespace.
  const svg = inSvg || node.tag === 'svg';
  const element = svg ? doc.createElementNS(SVG_NS, node.tag) : doc.createElement(node.tag);
  for (const [name, value] of Object.entries(node.attrs)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of node.children) element.appendChild(toDom(child, doc, svg));
  return element;
}

// ---- formatting -------------------------------------------------------------------------------

function utc(iso) {
  return iso
    ? String(iso)
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';
}

function span(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** "12 s ago" / "in 40 min", with the exact UTC time as the accessible text of a <time>. */
export function when(iso, now) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const diff = t - Date.parse(now);
  const text = diff > 1000 ? `in ${span(diff)}` : `${span(diff)} ago`;
  return h('time', { datetime: iso, title: utc(iso) }, text);
}

function firstLine(text) {
  return String(text).split('\n')[0];
}

/** A long error: its first line, the rest folded away. */
function errorText(text) {
  if (!text) return h('span', { class: 'muted' }, '—');
  const head = firstLine(text);
  const short = head.length > 160 ? `${head.slice(0, 157)}…` : head;
  if (short === text) return h('span', { class: 'error-text' }, text);
  return h('details', { class: 'error-text' }, h('summary', {}, short), h('pre', {}, text));
}

function badge(kind, text) {
  return h('span', { class: `badge badge-${kind}` }, text);
}

function okBadge(ok, warn) {
  if (warn) return badge('warn', 'WARN');
  return ok ? badge('ok', 'OK') : badge('bad', 'FAIL');
}

function code(text) {
  return text ? h('code', {}, text) : h('span', { class: 'muted' }, '—');
}

// ---- panels -----------------------------------------------------------------------------------

const LOGIN_COMMAND = 'npm run relay -- login';

/** Shown above everything when the delegated Partner Center token needs a person. */
export function tokenBanner(status) {
  const token = status.checks.partnerCenterToken;
  if (token.status === 'ok') return h('div', {});
  const what = {
    missing: 'No Partner Center sign-in is stored: referrals cannot be read or written.',
    failed: 'The Partner Center sign-in no longer works: syncs with Partner Center are failing.',
    expiring:
      'The Partner Center sign-in could not be refreshed and will stop working when the current token expires.',
  }[token.status];
  return h(
    'div',
    { class: `banner banner-${token.status === 'expiring' ? 'warn' : 'bad'}`, role: 'alert' },
    h('strong', {}, what),
    ' ',
    token.detail ? h('span', {}, token.detail, ' ') : null,
    h(
      'span',
      {},
      'Run ',
      h('code', {}, LOGIN_COMMAND),
      ' to sign in again (a one-time interactive sign-in with MFA).',
    ),
  );
}

function checkRow(name, check, facts, warn) {
  return h(
    'li',
    { class: `check ${warn ? 'check-warn' : check.ok ? 'check-ok' : 'check-bad'}` },
    h('div', { class: 'check-head' }, okBadge(check.ok, warn), ' ', h('span', { class: 'check-name' }, name)),
    facts.length > 0
      ? h(
          'dl',
          { class: 'facts' },
          facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
        )
      : null,
    check.detail ? h('p', { class: 'check-detail' }, check.detail) : null,
  );
}

export function healthPanel(status, now) {
  const c = status.checks;
  const token = c.partnerCenterToken;
  const sub = c.subscriber;
  return h(
    'div',
    {},
    h(
      'p',
      { class: `readiness ${status.ready ? 'ready' : 'not-ready'}` },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      status.ready ? 'Ready' : status.draining ? 'Not ready: shutting down' : 'Not ready',
      h(
        'span',
        { class: 'muted' },
        ` · ${status.mode} mode · v${status.version} · up since `,
        when(status.startedAt, now),
      ),
    ),
    h(
      'ul',
      { class: 'checks' },
      checkRow('Database', c.database, []),
      checkRow('Workers', c.workers, []),
      checkRow(
        'Partner Center sign-in',
        token,
        [
          ['Status', token.status],
          ['Account', token.account || '—'],
          ['Token expires', token.expiresOn ? when(token.expiresOn, now) : '—'],
        ],
        token.status === 'expiring',
      ),
      checkRow('Salesforce', c.salesforce, []),
      checkRow('Pub/Sub subscriber', sub, [
        ['Role', sub.role],
        [
          'Connected',
          sub.role === 'leader' ? (sub.connected ? 'yes' : 'no') : '— (another instance subscribes)',
        ],
        ['Lag', sub.lagMs === null ? '—' : `${sub.lagMs} ms`],
        ['Reconnects', sub.reconnects],
        ['Events received', sub.received],
        ['Last event', when(sub.lastEventAt, now)],
      ]),
      c.breakers
        ? checkRow(
            'API limits (circuit breakers)',
            c.breakers,
            c.breakers.open.map((b) => [b.name, `paused until ${b.retryAt}`]),
            c.breakers.open.length > 0,
          )
        : null,
    ),
  );
}

function tile(label, value, kind) {
  return h(
    'div',
    { class: `tile${kind ? ` tile-${kind}` : ''}` },
    h('div', { class: 'tile-value' }, value),
    h('div', { class: 'tile-label' }, label),
  );
}

function group(title, tiles) {
  return h(
    'div',
    { class: 'group', role: 'group', 'aria-label': title },
    h('h3', {}, title),
    h('div', { class: 'tiles' }, tiles),
  );
}

export function countsPanel(status, now) {
  const j = status.jobs;
  const l = status.links;
  const w = status.webhooks;
  const usage = status.salesforce.apiUsage;
  const pct = usage && usage.limit > 0 ? Math.round((usage.used / usage.limit) * 100) : null;
  return h(
    'div',
    { class: 'groups' },
    group('Queue', [
      tile('queued', j.queued),
      tile('running', j.running),
      tile('retrying', j.retrying, j.retrying > 0 ? 'warn' : ''),
      tile('failed', j.failed, j.failed > 0 ? 'bad' : ''),
    ]),
    // Each count opens the link list filtered to that status.
    group('Links by sync status', [
      tile('Synced', h('a', { href: '?status=Synced#h-links' }, l.Synced), 'ok'),
      tile('Pending', h('a', { href: '?status=Pending#h-links' }, l.Pending)),
      tile('Error', h('a', { href: '?status=Error#h-links' }, l.Error), l.Error > 0 ? 'bad' : ''),
    ]),
    group('Webhook deliveries', [
      tile('accepted', w.accepted),
      tile('duplicates', w.duplicates),
      tile('ignored', w.ignored),
      tile('rejected', w.rejected, w.rejected > 0 ? 'warn' : ''),
    ]),
    group('Salesforce API', [
      tile('calls by this relay', status.salesforce.apiCalls),
      tile(
        usage ? `org usage today (${usage.used} of ${usage.limit})` : 'org usage today',
        pct === null ? '—' : `${pct}%`,
        pct === null ? '' : pct >= 95 ? 'bad' : pct >= 80 ? 'warn' : '',
      ),
    ]),
    group('Reconcile', [
      tile('last reconcile', when(status.lastReconcileAt, now), status.lastReconcileAt ? '' : 'warn'),
    ]),
  );
}

function recordOf(job) {
  const p = job.payload && typeof job.payload === 'object' ? job.payload : {};
  if (p.referralId) return ['referral ', code(p.referralId)];
  if (p.opportunityId) return ['Opportunity ', code(p.opportunityId)];
  return code(job.key);
}

/**
 * A table that becomes one card per row on a narrow screen (dashboard.css): each cell carries its
 * column's name for the card's labels. `columns` are [title, className?]; rows are
 * { attrs, cells } with one cell per column.
 */
function table(caption, columns, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'cards' },
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map(([title]) => h('th', { scope: 'col' }, title)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h(
            'tr',
            row.attrs || {},
            row.cells.map((cell, i) =>
              h(
                'td',
                { class: columns[i][1] || null, 'data-label': columns[i][0] },
                h('div', { class: 'cell' }, cell),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

export function deadLetterKindsPanel(kinds, now) {
  if (!kinds || kinds.length === 0) return h('div', {});
  return h(
    'div',
    { class: 'kinds' },
    h('h3', {}, 'By kind of error'),
    table(
      'Dead letters grouped by kind of error',
      [['Count'], ['Kind of error', 'wide'], ['Tasks'], ['Latest'], ['Actions', 'actions']],
      kinds.map((k) => ({
        attrs: { class: 'row-error', 'data-kind': k.kind },
        cells: [
          h('strong', {}, k.count),
          errorText(k.example && k.count === 1 ? k.example : k.kind),
          k.tasks.join(', '),
          when(k.latestAt, now),
          h(
            'button',
            {
              type: 'button',
              'data-action': 'retry-kind',
              'data-kind': k.kind,
              'data-count': k.count,
              'aria-label': `Retry all ${k.count} of kind ${k.kind}`,
            },
            `Retry all ${k.count}`,
          ),
        ],
      })),
    ),
  );
}

export function deadLettersPanel(jobs, now, kinds) {
  if (jobs.length === 0)
    return h('p', { class: 'empty' }, 'No dead letters: every job succeeded or is still being retried.');
  return h(
    'div',
    {},
    deadLetterKindsPanel(kinds, now),
    kinds && kinds.length > 0 ? h('h3', {}, 'Latest') : null,
    table(
      'Jobs that ran out of attempts',
      [
        ['Job'],
        ['Task'],
        ['Record'],
        ['Attempts'],
        ['Failed'],
        ['Last error', 'wide'],
        ['Actions', 'actions'],
      ],
      jobs.map((job) => ({
        attrs: { class: 'row-error', 'data-job-id': job.id },
        cells: [
          code(job.id),
          job.task,
          recordOf(job),
          `${job.attempts}/${job.maxAttempts}`,
          when(job.updatedAt, now),
          errorText(job.lastError),
          [
            h(
              'button',
              {
                type: 'button',
                'data-action': 'retry',
                'data-job': job.id,
                'aria-label': `Retry job ${job.id}`,
              },
              'Retry',
            ),
            ' ',
            h(
              'button',
              {
                type: 'button',
                class: 'danger',
                'data-action': 'drop',
                'data-job': job.id,
                'data-task': job.task,
                'aria-label': `Drop job ${job.id}`,
              },
              'Drop',
            ),
          ],
        ],
      })),
    ),
  );
}

const STATUS_KIND = { Synced: 'ok', Pending: 'neutral', Error: 'bad' };

function statusBadge(status) {
  return badge(STATUS_KIND[status] || 'neutral', status);
}

/** `?a=1&b=2` from the entries of `params` that have a value. */
export function queryString(params) {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '?';
}

function pager(page, query) {
  const keep = { q: query.q, status: query.status, level: query.level, range: query.range };
  const shown = page.links.length;
  const summary =
    page.total === 0
      ? 'No links match.'
      : `${shown} of ${page.total.toLocaleString('en-US')} ${query.q || query.status ? 'matching ' : ''}link${page.total === 1 ? '' : 's'}`;
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Link pages' },
    h('span', { class: 'pager-summary' }, summary),
    page.prev ? h('a', { href: queryString({ ...keep, before: page.prev }), rel: 'prev' }, '← Newer') : null,
    page.next ? h('a', { href: queryString({ ...keep, after: page.next }), rel: 'next' }, 'Older →') : null,
  );
}

export function linksPanel(page, now, query) {
  const q = query || {};
  if (page.links.length === 0)
    return h(
      'div',
      {},
      h(
        'p',
        { class: 'empty' },
        q.q || q.status
          ? 'No links match this search.'
          : 'No links yet: no referral or Opportunity has been synced.',
      ),
      page.prev || page.next ? pager(page, q) : null,
    );
  return h(
    'div',
    {},
    pager(page, q),
    table(
      'Referral to Opportunity links, most recently changed first',
      [
        ['Status', 'status'],
        ['Name', 'name'],
        ['Referral'],
        ['Opportunity'],
        ['Last error', 'wide'],
        ['Last synced', 'nowrap'],
      ],
      page.links.map((link) => ({
        attrs: { class: link.syncStatus === 'Error' ? 'row-error' : '', 'data-link-id': link.id },
        cells: [
          statusBadge(link.syncStatus),
          h(
            'a',
            { href: `links/${link.id}`, class: 'pair-link' },
            link.name || link.referralId || link.opportunityId || `link ${link.id}`,
          ),
          code(link.referralId),
          code(link.opportunityId),
          errorText(link.lastError),
          when(link.lastSyncedAt, now),
        ],
      })),
    ),
    page.links.length >= 20 ? pager(page, q) : null,
  );
}

export function auditPanel(events, now) {
  if (events.length === 0) return h('p', { class: 'empty' }, 'No audit events match.');
  return table(
    'Audit log, newest first',
    [
      ['Time', 'nowrap'],
      ['Level'],
      ['Direction'],
      ['Referral'],
      ['Opportunity'],
      ['Job'],
      ['Message', 'wide'],
    ],
    events.map((e) => ({
      attrs: { class: e.level === 'ERROR' ? 'row-error' : '' },
      cells: [
        when(e.at, now),
        badge(e.level === 'ERROR' ? 'bad' : 'neutral', e.level),
        e.direction,
        code(e.referralId),
        code(e.opportunityId),
        code(e.jobId),
        errorText(e.message),
      ],
    })),
  );
}

// ---- charts -----------------------------------------------------------------------------------

const CHART = { width: 320, height: 120, left: 34, right: 6, top: 8, bottom: 18 };

function niceMax(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value);
  return step * magnitude;
}

function clock(iso) {
  return String(iso).slice(11, 16);
}

function seconds(value) {
  if (value === null || value === undefined) return '—';
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(value < 10 ? 2 : 0)} s`;
}

/**
 * One small SVG chart, drawn here rather than by a charting library: the page loads nothing from
 * elsewhere and the same code draws it on the server and in the browser. `bars` are stacked
 * series, `lines` are polylines (null values break the line), both over `slots`.
 */
function chart(title, slots, { bars = [], lines = [], format = String }) {
  const { width, height, left, right, top, bottom } = CHART;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const n = slots.length;
  const totals = slots.map((_, i) => bars.reduce((a, b) => a + (b.values[i] || 0), 0));
  const peaks = lines.flatMap((l) => l.values.filter((v) => v !== null && v !== undefined));
  const max = niceMax(Math.max(0, ...totals, ...peaks));
  const x = (i) => left + (i * plotW) / n;
  const y = (v) => top + plotH - (v / max) * plotH;
  const barW = Math.max(plotW / n - 0.6, 0.4);
  const shapes = [];
  slots.forEach((slot, i) => {
    let base = 0;
    for (const series of bars) {
      const v = series.values[i] || 0;
      if (v <= 0) continue;
      shapes.push(
        h(
          'rect',
          {
            class: `bar ${series.class}`,
            x: x(i).toFixed(1),
            y: y(base + v).toFixed(1),
            width: barW.toFixed(1),
            height: Math.max(((v / max) * plotH).toFixed(1), 0.5),
          },
          h('title', {}, `${clock(slot.at)} ${series.name}: ${format(v)}`),
        ),
      );
      base += v;
    }
  });
  for (const series of lines) {
    let d = '';
    let open = false;
    series.values.forEach((v, i) => {
      if (v === null || v === undefined) {
        open = false;
        return;
      }
      d += `${open ? 'L' : 'M'}${(x(i) + barW / 2).toFixed(1)} ${y(v).toFixed(1)} `;
      open = true;
    });
    if (d) shapes.push(h('path', { class: `line ${series.class}`, d: d.trim(), fill: 'none' }));
    // A lone point draws no line: mark every point so a quiet hour still shows its few syncs.
    series.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      shapes.push(
        h(
          'circle',
          { class: `dot ${series.class}`, cx: (x(i) + barW / 2).toFixed(1), cy: y(v).toFixed(1), r: 1.6 },
          h('title', {}, `${clock(slots[i].at)} ${series.name}: ${format(v)}`),
        ),
      );
    });
  }
  const legend = [...bars, ...lines].map((series) =>
    h('span', { class: 'legend-item' }, h('span', { class: `swatch ${series.class}` }), series.name),
  );
  return h(
    'figure',
    { class: 'chart' },
    h('figcaption', {}, h('span', { class: 'chart-title' }, title), h('span', { class: 'legend' }, legend)),
    h(
      'svg',
      {
        viewBox: `0 0 ${width} ${height}`,
        role: 'img',
        'aria-label': title,
        class: 'chart-svg',
      },
      h('line', { class: 'axis', x1: left, y1: top + plotH, x2: width - right, y2: top + plotH }),
      h('line', { class: 'grid', x1: left, y1: top, x2: width - right, y2: top }),
      h('text', { class: 'tick', x: left - 4, y: top + 4, 'text-anchor': 'end' }, format(max)),
      h('text', { class: 'tick', x: left - 4, y: top + plotH, 'text-anchor': 'end' }, '0'),
      n > 0 ? h('text', { class: 'tick', x: left, y: height - 4 }, `${clock(slots[0].at)} UTC`) : null,
      n > 0
        ? h('text', { class: 'tick', x: width - right, y: height - 4, 'text-anchor': 'end' }, 'now')
        : null,
      shapes,
    ),
  );
}

export function chartsPanel(stats, query) {
  if (!stats) return h('p', { class: 'empty' }, 'No sync statistics yet.');
  const slots = stats.slots;
  const per = stats.stepMinutes === 1 ? 'minute' : `${stats.stepMinutes} min`;
  const t = stats.totals;
  const range = stats.range;
  const keep = { q: query && query.q, status: query && query.status, level: query && query.level };
  return h(
    'div',
    {},
    h(
      'p',
      { class: 'chart-summary' },
      h(
        'span',
        { class: 'range-switch', role: 'group', 'aria-label': 'Chart range' },
        ['hour', 'day'].map((r) =>
          r === range
            ? h('strong', { 'aria-current': 'true' }, `Last ${r}`)
            : h('a', { href: queryString({ ...keep, range: r }) }, `Last ${r}`),
        ),
      ),
      h(
        'span',
        { class: 'muted' },
        `${t.inbound} inbound · ${t.outbound} outbound · p50 ${seconds(t.p50)} · p95 ${seconds(t.p95)} · ${t.errors} failed attempt${t.errors === 1 ? '' : 's'}`,
      ),
    ),
    h(
      'div',
      { class: 'charts' },
      chart(`Syncs per ${per}`, slots, {
        bars: [
          { name: 'inbound', class: 's-inbound', values: slots.map((s) => s.inbound) },
          { name: 'outbound', class: 's-outbound', values: slots.map((s) => s.outbound) },
        ],
      }),
      chart('Latency, change → write', slots, {
        lines: [
          { name: 'p50', class: 's-p50', values: slots.map((s) => s.p50) },
          { name: 'p95', class: 's-p95', values: slots.map((s) => s.p95) },
        ],
        format: seconds,
      }),
      chart(`Failed attempts per ${per}`, slots, {
        bars: [{ name: 'errors', class: 's-errors', values: slots.map((s) => s.errors) }],
      }),
    ),
  );
}

// ---- the page of one pair ---------------------------------------------------------------------

function shown(value) {
  if (value === undefined) return h('span', { class: 'muted' }, 'not read');
  if (value === null || value === '') return h('span', { class: 'muted' }, '—');
  if (typeof value === 'object') return h('code', {}, JSON.stringify(value));
  return String(value);
}

function sideCard(title, reading, linkText) {
  return h(
    'section',
    { class: `side ${reading.ok ? 'side-ok' : 'side-bad'}`, 'aria-label': title },
    h('h2', {}, title),
    reading.url
      ? h('p', {}, h('a', { href: reading.url, target: '_blank', rel: 'noopener noreferrer' }, linkText))
      : null,
    reading.ok
      ? h(
          'dl',
          { class: 'facts' },
          Object.entries(reading.facts).map(([k, v]) => [h('dt', {}, k), h('dd', {}, shown(v))]),
        )
      : reading.missing
        ? h('p', { class: 'side-error' }, reading.error)
        : h(
            'p',
            { class: 'side-error', role: 'alert' },
            h('strong', {}, `${title} could not be read: `),
            reading.error,
          ),
  );
}

const STATE_KIND = { same: 'ok', differs: 'bad', unknown: 'neutral' };

/** The mapping's dry run (sync/plan.ts): what the relay would write on each side now. */
export function planSection(plan) {
  const writes = plan ? plan.fields.filter((f) => 'toDeal' in f || 'toReferral' in f).length : 0;
  return h(
    'section',
    { 'aria-labelledby': 'h-plan' },
    h(
      'h2',
      { id: 'h-plan' },
      'Dry run ',
      h(
        'span',
        { class: 'hint' },
        !plan
          ? 'one side could not be read'
          : writes === 0
            ? 'a sync now would write nothing'
            : `a sync now would write ${writes} field${writes === 1 ? '' : 's'}`,
      ),
    ),
    plan && plan.problems.length > 0
      ? h('div', { class: 'banner banner-bad', role: 'alert' }, `Not writable: ${plan.problems.join('; ')}`)
      : null,
    plan
      ? table(
          'What the relay would write on each side now, field by field, and why',
          [['Field'], ['Transform'], ['To Salesforce'], ['To Partner Center'], ['Why']],
          plan.fields.map((f) => ({
            attrs: {
              class: 'toDeal' in f || 'toReferral' in f ? 'row-change' : '',
              'data-plan-field': f.name,
            },
            cells: [
              [
                h('strong', {}, f.name),
                h('br', {}),
                h('span', { class: 'muted' }, `${f.referralPath} ↔ ${f.dealField}`),
              ],
              f.transform,
              'toDeal' in f ? shown(f.toDeal) : '—',
              'toReferral' in f ? shown(f.toReferral) : '—',
              f.rule,
            ],
          })),
        )
      : null,
  );
}

export function pairView(detail, now) {
  const link = detail.link;
  const differing = detail.fields.filter((f) => f.state === 'differs').length;
  return h(
    'div',
    { class: 'pair' },
    h(
      'div',
      { class: 'pair-head' },
      h('p', { class: 'pair-status' }, 'Sync status ', statusBadge(link.syncStatus)),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Referral'),
        h('dd', {}, code(link.referralId)),
        h('dt', {}, 'Opportunity'),
        h('dd', {}, code(link.opportunityId)),
        h('dt', {}, 'Engagement'),
        h('dd', {}, code(link.engagementId)),
        h('dt', {}, 'Last synced'),
        h('dd', {}, when(link.lastSyncedAt, now)),
        h('dt', {}, 'Last change'),
        h('dd', {}, when(link.updatedAt, now)),
      ),
      link.lastError ? h('div', { class: 'banner banner-bad' }, errorText(link.lastError)) : null,
    ),
    h(
      'div',
      { class: 'sides' },
      sideCard('Partner Center', detail.partnerCenter, 'Open the referral in Partner Center'),
      sideCard('Salesforce', detail.salesforce, 'Open the Opportunity in Salesforce'),
    ),
    h(
      'section',
      { 'aria-labelledby': 'h-diff' },
      h(
        'h2',
        { id: 'h-diff' },
        'Mapped fields ',
        h(
          'span',
          { class: 'hint' },
          detail.partnerCenter.ok && detail.salesforce.ok
            ? differing === 0
              ? 'both sides agree'
              : `${differing} field${differing === 1 ? '' : 's'} differ`
            : detail.partnerCenter.missing || detail.salesforce.missing
              ? 'the pair is not complete'
              : 'one side could not be read',
        ),
      ),
      table(
        'Each mapped field on both sides and as last synced',
        [['State', 'status'], ['Field'], ['Partner Center'], ['Salesforce'], ['Last synced'], ['Rule']],
        detail.fields.map((f) => ({
          attrs: { class: f.state === 'differs' ? 'row-error' : '', 'data-field': f.name },
          cells: [
            badge(STATE_KIND[f.state], f.state),
            [
              h('strong', {}, f.name),
              h('br', {}),
              h('span', { class: 'muted' }, `${f.referralPath} ↔ ${f.opportunityField}`),
            ],
            shown(f.partnerCenter),
            shown(f.salesforce),
            shown(f.synced),
            `${f.direction}${f.owner ? `, ${f.owner} wins` : ''}`,
          ],
        })),
      ),
    ),
    planSection(detail.plan),
    h(
      'section',
      { 'aria-labelledby': 'h-history' },
      h(
        'h2',
        { id: 'h-history' },
        'History ',
        h('span', { class: 'hint' }, 'audit log of this pair, newest first'),
      ),
      auditPanel(detail.audit, now),
    ),
  );
}

/** Every re-rendered region of the page, by the id of its container. */
export function panels(data) {
  const now = data.generatedAt;
  return {
    'panel-banner': tokenBanner(data.status),
    'panel-health': healthPanel(data.status, now),
    'panel-counts': countsPanel(data.status, now),
    'panel-charts': chartsPanel(data.stats, data.query),
    'panel-dead-letters': deadLettersPanel(data.deadLetters, now, data.deadLetterKinds),
    'panel-links': linksPanel(data.links, now, data.query),
    'panel-audit': auditPanel(data.audit, now),
  };
}
