import express from 'express';
import type { Metrics } from '../metrics.ts';

/** GET /metrics in the Prometheus text exposition format. */
export function metricsRouter(metrics: Metrics): express.Router {
  const router = express.Router();
  router.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4').send(metrics.render());
  });
  return router;
}
