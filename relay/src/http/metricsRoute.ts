import express from 'express';
import type { Metrics } from '../metrics.ts';

/** GET /metrics in the Prometheus text exposition format. */
export function metricsRouter(metrics: Metrics): express.Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.render());
  });
  return router;
}
