import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './errorBody.ts';

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Guards the dashboard and the admin API with ADMIN_TOKEN: `Authorization: Bearer <token>` for
 * tools, or HTTP Basic with the token as password so a browser can open the dashboard. Without a
 * token (sandbox mode on a laptop) they are open; production config requires one.
 */
export function requireAdmin(adminToken: string | undefined, realm = 'cosell-sync') {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!adminToken) {
      next();
      return;
    }
    const header = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    const basic = /^Basic\s+(.+)$/i.exec(header)?.[1];
    const password = basic
      ? Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':')
      : undefined;
    const offered = bearer ?? password;
    if (offered && sameSecret(offered, adminToken)) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    sendError(res, 401, 'UNAUTHORIZED', 'Authorization: a valid admin token is required');
  };
}
