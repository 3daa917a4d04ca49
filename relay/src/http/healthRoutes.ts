import express from 'express';
import type { RelayOperations, RelayStatus } from '../operations.ts';
import { adminCredential } from './adminAuth.ts';

/**
 * /healthz: the process answers (for the platform's liveness probe).
 * /readyz: the relay can do its job: database reachable, workers running, and the credentials
 * it needs are healthy. 503 with the failing checks otherwise, so a load balancer stops sending
 * webhooks to an instance that cannot store them, and an expiring token is visible before it breaks.
 *
 * Probes are unauthenticated, so without ADMIN_TOKEN /readyz says only ready or not and the names
 * of the failing checks: the signed-in account, the replay id and error texts are for admins
 * (`Authorization: Bearer <ADMIN_TOKEN>` here, or /api/status). Concurrent probes share one status
 * computation, so a flood of probes costs what one does.
 */
export function healthRouter(
  ops: Pick<RelayOperations, 'status'>,
  options: { adminToken?: string } = {},
): express.Router {
  const router = express.Router();
  let inflight: Promise<RelayStatus> | null = null;
  const status = (): Promise<RelayStatus> => {
    inflight ??= ops.status().finally(() => {
      inflight = null;
    });
    return inflight;
  };

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const { credential } = adminCredential(options.adminToken, req);
    const detailed = credential === 'open' || credential === 'valid';
    let current: RelayStatus;
    try {
      current = await status();
    } catch (error) {
      res
        .status(503)
        .json(
          detailed
            ? { ready: false, error: { code: 'STATUS_FAILED', message: (error as Error).message } }
            : { ready: false, failing: ['status'] },
        );
      return;
    }
    res.status(current.ready ? 200 : 503);
    if (detailed) {
      res.json({ ready: current.ready, draining: current.draining, checks: current.checks });
      return;
    }
    const failing = Object.entries(current.checks)
      .filter(([, check]) => !check.ok)
      .map(([name]) => name);
    res.json({ ready: current.ready, failing });
  });
  return router;
}
