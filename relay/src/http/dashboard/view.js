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

const VOID = new Set(['br', 'hr', 'input', 'meta']);

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

export function toDom(node, doc) {
  if (typeof node === 'string' || typeof node === 'number') return doc.createTextNode(String(node));
  const element = doc.createElement(node.tag);
  for (const [name, value] of Object.entries(node.attrs)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of node.children) element.appendChild(toDom(child, doc));
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
    group('Links by sync status', [
      tile('Synced', l.Synced, 'ok'),
      tile('Pending', l.Pending),
      tile('Error', l.Error, l.Error > 0 ? 'bad' : ''),
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

export function deadLettersPanel(jobs, now) {
  if (jobs.length === 0)
    return h('p', { class: 'empty' }, 'No dead letters: every job succeeded or is still being retried.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, 'Jobs that ran out of attempts'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Job', 'Task', 'Record', 'Attempts', 'Failed', 'Last error', 'Actions'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        jobs.map((job) =>
          h(
            'tr',
            { class: 'row-error', 'data-job-id': job.id },
            h('td', {}, code(job.id)),
            h('td', {}, job.task),
            h('td', {}, recordOf(job)),
            h('td', {}, `${job.attempts}/${job.maxAttempts}`),
            h('td', {}, when(job.updatedAt, now)),
            h('td', { class: 'wide' }, errorText(job.lastError)),
            h(
              'td',
              { class: 'actions' },
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
            ),
          ),
        ),
      ),
    ),
  );
}

const STATUS_KIND = { Synced: 'ok', Pending: 'neutral', Error: 'bad' };

export function linksPanel(links, now) {
  if (links.length === 0)
    return h('p', { class: 'empty' }, 'No links yet: no referral or Opportunity has been synced.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h(
        'caption',
        { class: 'visually-hidden' },
        'Referral to Opportunity links, most recently changed first',
      ),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Referral', 'Opportunity', 'Status', 'Last error', 'Last synced'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        links.map((link) =>
          h(
            'tr',
            { class: link.syncStatus === 'Error' ? 'row-error' : '' },
            h('td', {}, code(link.referralId)),
            h('td', {}, code(link.opportunityId)),
            h('td', {}, badge(STATUS_KIND[link.syncStatus] || 'neutral', link.syncStatus)),
            h('td', { class: 'wide' }, errorText(link.lastError)),
            h('td', {}, when(link.lastSyncedAt, now)),
          ),
        ),
      ),
    ),
  );
}

export function auditPanel(events, now) {
  if (events.length === 0) return h('p', { class: 'empty' }, 'No audit events match.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, 'Audit log, newest first'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Time', 'Level', 'Direction', 'Referral', 'Opportunity', 'Job', 'Message'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        events.map((e) =>
          h(
            'tr',
            { class: e.level === 'ERROR' ? 'row-error' : '' },
            h('td', { class: 'nowrap' }, when(e.at, now)),
            h('td', {}, badge(e.level === 'ERROR' ? 'bad' : 'neutral', e.level)),
            h('td', {}, e.direction),
            h('td', {}, code(e.referralId)),
            h('td', {}, code(e.opportunityId)),
            h('td', {}, code(e.jobId)),
            h('td', { class: 'wide' }, errorText(e.message)),
          ),
        ),
      ),
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
    'panel-dead-letters': deadLettersPanel(data.deadLetters, now),
    'panel-links': linksPanel(data.links, now),
    'panel-audit': auditPanel(data.audit, now),
  };
}
