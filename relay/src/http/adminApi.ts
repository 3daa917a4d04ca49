import express from 'express';
import type { Logger } from '../logger.ts';
import type { RelayOperations } from '../operations.ts';
import { requireAdmin } from './adminAuth.ts';
import { describeError, isRelayError } from '../errors.ts';
import { sendError } from './errorBody.ts';
import { isCursor } from '../store/linkSearch.ts';
import type { LinkSearch } from '../store/linkSearch.ts';
import { SyncNowRefused } from '../syncNow.ts';

/**
 * A browser that holds the admin's Basic credentials sends them with a forged cross-site POST
 * too, so the API refuses state changes whose Origin (or Sec-Fetch-Site) says they come from
 * another site. Tools (the CLI, curl) send neither header and are unaffected.
 */
function refuseCrossSite(req: express.Request, res: express.Response, next: express.NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  let foreign = site !== undefined && site !== 'same-origin' && site !== 'none';
  if (!foreign && origin !== undefined) {
    const hosts = [req.headers.host, req.headers['x-forwarded-host']].filter(Boolean);
    try {
      foreign = !hosts.includes(new URL(origin).host);
    } catch {
      foreign = true;
    }
  }
  if (foreign)
    return sendError(res, 403, 'FORBIDDEN', 'Origin: cross-site requests may not change the relay');
  next();
}

const STATUSES = new Set(['Synced', 'Pending', 'Error']);

function limitOf(value: unknown, fallback: number): number | string {
  if (value === undefined) return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : `limit: must be a whole number from 1 to 1000`;
}

const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);

/**
 * The link list's query string (q, status, after, before, limit) checked: a search, or the first
 * parameter at fault. Shared with the dashboard's server render.
 */
export function linkSearchOf(query: Record<string, unknown>, fallbackLimit: number): LinkSearch | string {
  const limit = limitOf(query.limit, fallbackLimit);
  if (typeof limit === 'string') return limit;
  const status = query.status;
  if (status !== undefined && status !== '' && (typeof status !== 'string' || !STATUSES.has(status)))
    return 'status: must be Synced, Pending or Error';
  const q = query.q;
  if (q !== undefined && (typeof q !== 'string' || q.length > 200))
    return 'q: must be at most 200 characters';
  for (const name of ['after', 'before'] as const) {
    const cursor = query[name];
    if (cursor !== undefined && (typeof cursor !== 'string' || !isCursor(cursor)))
      return `${name}: must be a cursor from a previous page (next or prev)`;
  }
  if (query.after !== undefined && query.before !== undefined) return 'after: give after or before, not both';
  return {
    q: text(q),
    status: text(status) as LinkSearch['status'],
    after: text(query.after),
    before: text(query.before),
    limit,
  };
}

/** JSON admin API under /api: what the dashboard shows and what the CLI drives. */
export function adminRouter(deps: {
  operations: RelayOperations;
  adminToken: string | undefined;
  logger: Logger;
}): express.Router {
  const router = express.Router();
  const ops = deps.operations;
  router.use('/api', requireAdmin(deps.adminToken), refuseCrossSite);

  router.get('/api/status', async (_req, res) => {
    res.json(await ops.status());
  });

  // A page of links, newest change first: { links, total, next, prev } (cursors for after / before).
  router.get('/api/links', async (req, res) => {
    const search = linkSearchOf(req.query, 100);
    if (typeof search === 'string') return sendError(res, 400, 'REQUEST_INVALID', search);
    res.json(await ops.searchLinks(search));
  });

  router.get('/api/links/:id', async (req, res) => {
    if (!/^\d{1,18}$/.test(req.params.id))
      return sendError(res, 400, 'REQUEST_INVALID', 'id: must be a link id');
    const detail = await ops.pairDetail(Number(req.params.id));
    if (!detail) return sendError(res, 404, 'NOT_FOUND', `id: no link ${req.params.id}`);
    res.json(detail);
  });

  // The mapping's dry run for the pair a referral id or a CRM record id names; writes nothing.
  router.get('/api/mapping-test/:id', async (req, res) => {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(req.params.id))
      return sendError(res, 400, 'REQUEST_INVALID', 'id: must be a referral id or a CRM record id');
    const test = await ops.mappingTest(req.params.id);
    if (!test)
      return sendError(
        res,
        404,
        'NOT_FOUND',
        `${req.params.id}: the relay links no referral or CRM record with this id`,
      );
    res.json(test);
  });

  router.get('/api/stats', async (req, res) => {
    const range = req.query.range ?? 'hour';
    if (range !== 'hour' && range !== 'day')
      return sendError(res, 400, 'REQUEST_INVALID', 'range: must be hour or day');
    res.json(await ops.syncSeries(range));
  });

  router.get('/api/audit', async (req, res) => {
    const limit = limitOf(req.query.limit, 100);
    if (typeof limit === 'string') return sendError(res, 400, 'REQUEST_INVALID', limit);
    const level = req.query.level;
    if (level !== undefined && level !== 'INFO' && level !== 'ERROR')
      return sendError(res, 400, 'REQUEST_INVALID', 'level: must be INFO or ERROR');
    res.json({
      events: await ops.listAudit({
        limit,
        level,
        referralId: text(req.query.referralId),
        opportunityId: text(req.query.opportunityId),
      }),
    });
  });

  router.get('/api/dead-letters', async (req, res) => {
    const limit = limitOf(req.query.limit, 100);
    if (typeof limit === 'string') return sendError(res, 400, 'REQUEST_INVALID', limit);
    res.json({ jobs: await ops.listFailedJobs(limit) });
  });

  router.get('/api/dead-letters/kinds', async (_req, res) => {
    res.json({ kinds: await ops.deadLetterKinds() });
  });

  // Every dead letter of one kind (as /api/dead-letters/kinds names it) back in the queue.
  router.post('/api/dead-letters/retry', async (req, res) => {
    const kind = req.query.kind;
    if (typeof kind !== 'string' || kind.length === 0 || kind.length > 200)
      return sendError(
        res,
        400,
        'REQUEST_INVALID',
        'kind: must name an error kind from /api/dead-letters/kinds',
      );
    const retried = await ops.retryDeadLetterKind(kind);
    deps.logger.info({ kind, retried }, 'dead letters retried by kind');
    res.json({ status: 'queued', retried });
  });

  router.post('/api/dead-letters/:id/retry', async (req, res) => {
    if (!/^\d+$/.test(req.params.id)) return sendError(res, 400, 'REQUEST_INVALID', 'id: must be a job id');
    if (!(await ops.retryJob(req.params.id)))
      return sendError(res, 404, 'NOT_FOUND', `id: no dead-lettered job ${req.params.id}`);
    deps.logger.info({ jobId: req.params.id }, 'dead letter retried');
    res.json({ status: 'queued' });
  });

  router.delete('/api/dead-letters/:id', async (req, res) => {
    if (!/^\d+$/.test(req.params.id)) return sendError(res, 400, 'REQUEST_INVALID', 'id: must be a job id');
    if (!(await ops.dropJob(req.params.id)))
      return sendError(res, 404, 'NOT_FOUND', `id: no dead-lettered job ${req.params.id}`);
    deps.logger.info({ jobId: req.params.id }, 'dead letter dropped');
    res.json({ status: 'dropped' });
  });

  router.post('/api/reconcile', async (_req, res) => {
    res.status(202).json({ status: 'queued', jobId: await ops.reconcile() });
  });

  // Sync now for one pair, named by its referral id or its CRM record id. `wait` (seconds, 0-120,
  // default 30) is how long the answer waits for the jobs; 200 once they finished, 202 if still running.
  router.post('/api/sync/:id', async (req, res) => {
    const id = req.params.id;
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id))
      return sendError(res, 400, 'REQUEST_INVALID', 'id: must be a referral id or a CRM record id');
    const wait = req.query.wait === undefined ? 30 : Number(req.query.wait);
    if (!Number.isFinite(wait) || wait < 0 || wait > 120)
      return sendError(res, 400, 'REQUEST_INVALID', 'wait: must be a number of seconds from 0 to 120');
    try {
      const result = await ops.syncNow(id, wait * 1000);
      deps.logger.info(
        { referralId: result.referralId, opportunityId: result.opportunityId, done: result.done },
        'sync now',
      );
      res.status(result.done ? 200 : 202).json(result);
    } catch (error) {
      if (error instanceof SyncNowRefused)
        return sendError(
          res,
          error.notFound ? 404 : 409,
          error.notFound ? 'NOT_FOUND' : 'CONFLICT',
          error.message,
        );
      throw error;
    }
  });

  router.post('/api/backfill', async (req, res) => {
    if (req.query.stream === undefined) {
      res.status(202).json({ status: 'queued', referrals: await ops.backfill() });
      return;
    }
    // NDJSON, one line per progress step, so `relay backfill` can draw a bar while Partner Center
    // pages through thousands of referrals. Errors after the 200 arrive as a final error line.
    res.status(200).type('application/x-ndjson').set('Cache-Control', 'no-store');
    res.flushHeaders();
    let lastSent = 0;
    const line = (value: unknown) => res.write(`${JSON.stringify(value)}\n`);
    try {
      const referrals = await ops.backfill((count) => {
        // At most ~10 lines a second: a progress bar needs no more.
        if (Date.now() - lastSent < 100) return;
        lastSent = Date.now();
        line({ enqueued: count });
      });
      line({ done: true, referrals });
    } catch (error) {
      deps.logger.error({ err: describeError(error) }, 'backfill failed');
      line({ error: { code: isRelayError(error) ? error.code : 'INTERNAL', message: describeError(error) } });
    }
    res.end();
  });
  return router;
}
