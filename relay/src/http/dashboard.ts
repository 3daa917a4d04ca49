import express from 'express';
import type { RelayOperations } from '../operations.ts';
import { requireAdmin } from './adminAuth.ts';

/** Placeholder replaced below by the full dashboard page. */
export function dashboardRouter(deps: { operations: RelayOperations; adminToken: string | undefined }): express.Router {
  const router = express.Router();
  router.get('/', requireAdmin(deps.adminToken), async (_req, res) => {
    const status = await deps.operations.status();
    res.type('html').send(`<!doctype html><title>cosell-sync</title><pre>${JSON.stringify(status, null, 2).replace(/</g, '&lt;')}</pre>`);
  });
  return router;
}
