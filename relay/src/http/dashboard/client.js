// Browser side of the dashboard, inlined after view.js (whose functions it calls). Reads the
// admin API every few seconds and re-renders the panels whose content changed; buttons call the
// same API the CLI uses. The browser re-sends the Basic credentials the page was opened with.

const REFRESH_MS = 5000;
const state = { level: '', timer: null, busy: false, lastTrees: {} };
// The page's search, status filter, page cursor and chart range stay those of its address: the
// refresh re-reads the same page of links rather than jumping back to the first.
const params = new URLSearchParams(location.search);
const pageQuery = {
  q: params.get('q') || undefined,
  status: params.get('status') || undefined,
  range: params.get('range') === 'day' ? 'day' : undefined,
};
const $ = (id) => document.getElementById(id);

async function api(path, init = {}) {
  const response = await fetch(path, {
    credentials: 'same-origin',
    ...init,
    headers: { accept: 'application/json', ...(init.headers || {}) },
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    // An empty or non-JSON body: the status says enough.
  }
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.statusText;
    throw new Error(`HTTP ${response.status}: ${message}`);
  }
  return body;
}

function flash(text, kind) {
  const el = $('flash');
  el.textContent = text;
  el.className = `flash flash-${kind || 'ok'}`;
}

function render(data) {
  const trees = panels(data);
  for (const [id, tree] of Object.entries(trees)) {
    const serialized = JSON.stringify(tree);
    if (state.lastTrees[id] === serialized) continue;
    state.lastTrees[id] = serialized;
    const container = $(id);
    // Keep keyboard focus on the same button across a re-render, and any opened error details open.
    const focused = container.contains(document.activeElement)
      ? document.activeElement.getAttribute('aria-label')
      : null;
    const opened = new Set(
      [...container.querySelectorAll('details[open] summary')].map((s) => s.textContent),
    );
    container.replaceChildren(toDom(tree, document));
    for (const summary of container.querySelectorAll('details summary'))
      if (opened.has(summary.textContent)) summary.parentElement.open = true;
    if (focused) {
      const again = [...container.querySelectorAll('[aria-label]')].find(
        (el) => el.getAttribute('aria-label') === focused,
      );
      if (again) again.focus();
    }
  }
  document.title = `${data.status.ready ? '✔' : '✘'} cosell-sync relay`;
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  try {
    const level = state.level ? `&level=${encodeURIComponent(state.level)}` : '';
    const linkQuery = queryString({
      q: pageQuery.q,
      status: pageQuery.status,
      after: params.get('after'),
      before: params.get('before'),
      limit: 50,
    });
    const [status, links, audit, dead, kinds, stats] = await Promise.all([
      api('api/status'),
      api(`api/links${linkQuery}`),
      api(`api/audit?limit=100${level}`),
      api('api/dead-letters?limit=100'),
      api('api/dead-letters/kinds'),
      api(`api/stats?range=${pageQuery.range || 'hour'}`),
    ]);
    render({
      status,
      links,
      audit: audit.events,
      deadLetters: dead.jobs,
      deadLetterKinds: kinds.kinds,
      stats,
      query: { ...pageQuery, level: state.level || undefined },
      generatedAt: new Date().toISOString(),
    });
    $('updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
    $('stale').hidden = true;
  } catch (error) {
    $('stale').hidden = false;
    $('stale').textContent =
      `Could not read the relay's status (${error.message}); the figures below may be stale. Retrying.`;
  } finally {
    state.busy = false;
  }
}

function schedule() {
  clearInterval(state.timer);
  state.timer = $('auto').checked ? setInterval(() => document.hidden || refresh(), REFRESH_MS) : null;
}

document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
  if (!button) return;
  const action = button.dataset.action;
  const job = button.dataset.job;
  try {
    if (action === 'retry') {
      button.disabled = true;
      await api(`api/dead-letters/${encodeURIComponent(job)}/retry`, { method: 'POST' });
      flash(`Job ${job} is back in the queue with fresh attempts.`);
    } else if (action === 'drop') {
      if (
        !confirm(
          `Drop job ${job} (${button.dataset.task}) for good?\n\nIts change will not be synced unless the record changes again or a reconcile picks it up. The drop is recorded in the audit log.`,
        )
      )
        return;
      button.disabled = true;
      await api(`api/dead-letters/${encodeURIComponent(job)}`, { method: 'DELETE' });
      flash(`Job ${job} dropped (recorded in the audit log).`);
    } else if (action === 'retry-kind') {
      const kind = button.dataset.kind;
      if (!confirm(`Put all ${button.dataset.count} dead letters of this kind back in the queue?\n\n${kind}`))
        return;
      button.disabled = true;
      const result = await api(`api/dead-letters/retry?kind=${encodeURIComponent(kind)}`, {
        method: 'POST',
      });
      flash(`${result.retried} dead letter(s) back in the queue with fresh attempts.`);
    } else if (action === 'reconcile') {
      button.disabled = true;
      const result = await api('api/reconcile', { method: 'POST' });
      flash(`Reconcile queued as job ${result.jobId}.`);
    } else if (action === 'refresh') {
      await refresh();
      return;
    }
  } catch (error) {
    flash(`${action} failed: ${error.message}`, 'bad');
  } finally {
    button.disabled = false;
  }
  await refresh();
});

// Choosing a status searches at once; without JavaScript the Search button does it.
$('status').addEventListener('change', (event) => event.target.form.requestSubmit());
$('level').addEventListener('change', (event) => {
  state.level = event.target.value;
  refresh();
});
state.level = $('level').value;
$('auto').addEventListener('change', schedule);
document.addEventListener('visibilitychange', () => document.hidden || refresh());
schedule();
refresh();
