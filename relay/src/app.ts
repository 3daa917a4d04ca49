import express from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import type { RelayConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { RelayOperations } from './operations.ts';
import type { DeliveryKey } from './store/webhookReceipts.ts';
import { adminRouter } from './http/adminApi.ts';
import { requireAdmin } from './http/adminAuth.ts';
import { dashboardRouter } from './http/dashboard.ts';
import { sendError } from './http/errorBody.ts';
import { healthRouter } from './http/healthRoutes.ts';
import { requireAllowedHost } from './http/hostCheck.ts';
import { metricsRouter } from './http/metricsRoute.ts';
import { webhookRouter } from './http/webhookRoute.ts';

export interface AppDeps {
  config: Pick<
    RelayConfig,
    'WEBHOOK_MAX_BODY_BYTES' | 'ADMIN_TOKEN' | 'COSELL_MODE' | 'ADMIN_ALLOWED_HOSTS' | 'METRICS_TOKEN'
  >;
  logger: Logger;
  metrics: Metrics;
  operations: RelayOperations;
  verifyWebhook(rawBody: Buffer, headers: IncomingHttpHeaders): Promise<void>;
  acceptDelivery(delivery: DeliveryKey): Promise<{ duplicate: boolean; jobId?: string }>;
  isDraining(): boolean;
}

/** The relay's Express app, without listen(): tests and main.ts both build it from explicit deps. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.use(requireAllowedHost(deps.config.ADMIN_ALLOWED_HOSTS));
  app.use(
    webhookRouter({
      verify: deps.verifyWebhook,
      accept: deps.acceptDelivery,
      maxBodyBytes: deps.config.WEBHOOK_MAX_BODY_BYTES,
      isDraining: deps.isDraining,
      metrics: deps.metrics,
      logger: deps.logger,
    }),
  );
  app.use(healthRouter(deps.operations, { adminToken: deps.config.ADMIN_TOKEN }));
  // METRICS_TOKEN unset leaves /metrics open, as Prometheus scrapers often run without credentials.
  app.use('/metrics', requireAdmin(deps.config.METRICS_TOKEN, 'cosell-sync metrics'));
  app.use(metricsRouter(deps.metrics));
  // Admin answers carry account names, errors and record ids: no cache may keep them, and no
  // browser may sniff them into something it renders.
  app.use('/api', (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(
    adminRouter({ operations: deps.operations, adminToken: deps.config.ADMIN_TOKEN, logger: deps.logger }),
  );
  app.use(dashboardRouter({ operations: deps.operations, adminToken: deps.config.ADMIN_TOKEN }));
  app.use((_req, res) => sendError(res, 404, 'NOT_FOUND', 'No such route'));
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    deps.logger.error(
      { err: error instanceof Error ? error.message : String(error) },
      'unhandled request error',
    );
    sendError(res, 500, 'INTERNAL', 'Internal error');
  });
  return app;
}
