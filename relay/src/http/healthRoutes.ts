import express from 'express';
import type { RelayOperations } from '../operations.ts';

/**
 * /healthz: the process answers (for the platform's liveness probe).
 * /readyz: the relay can do its job: database reachable, workers running, and the credentials
 * it needs are healthy. 503 with the failing checks otherwise, so a load balancer stops sending
 * webhooks to an instance that cannot store them, and an expiring token is visible before it breaks.
 */
export function healthRouter(ops: Pick<RelayOperations, 'status'>): express.Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    try {
      const status = await ops.status();
      res
        .status(status.ready ? 200 : 503)
        .json({ ready: status.ready, draining: status.draining, checks: status.checks });
    } catch (error) {
      res
        .status(503)
        .json({ ready: false, error: { code: 'STATUS_FAILED', message: (error as Error).message } });
    }
  });
  return router;
}
