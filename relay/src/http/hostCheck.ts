import type { NextFunction, Request, Response } from 'express';
import { sendError } from './errorBody.ts';

/** Paths that answer whatever Host a request names: Partner Center's deliveries and the platform's probes. */
const OPEN_PATHS = [/^\/webhooks\//, /^\/healthz$/, /^\/readyz$/, /^\/metrics$/];

/**
 * Refuses dashboard and admin API requests whose Host header is not one of `allowedHosts`. A page
 * on another site can point its own name at 127.0.0.1 (DNS rebinding) and then read a sandbox
 * relay's open admin API as same-origin; the browser still sends that other name as Host. The raw
 * header is read, not `req.hostname`: with `trust proxy` that would come from X-Forwarded-Host,
 * which such a page can set itself.
 */
export function requireAllowedHost(allowedHosts: readonly string[]) {
  const allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  return (req: Request, res: Response, next: NextFunction): void => {
    if (OPEN_PATHS.some((p) => p.test(req.path))) {
      next();
      return;
    }
    const host = (req.headers.host ?? '').trim().toLowerCase().replace(/:\d+$/, '');
    if (allowed.has(host)) {
      next();
      return;
    }
    sendError(
      res,
      421,
      'HOST_NOT_ALLOWED',
      'This host name is not one the relay answers to; ADMIN_ALLOWED_HOSTS lists them',
    );
  };
}
