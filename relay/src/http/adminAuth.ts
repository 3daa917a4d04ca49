import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './errorBody.ts';

/** Failed tokens one client address may offer per window before it is refused without a check. */
export const MAX_FAILED_TOKENS = 10;
export const FAILED_TOKEN_WINDOW_MS = 60_000;
// Bounds the memory a flood of addresses can take; the oldest entries go first.
const MAX_TRACKED_ADDRESSES = 10_000;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Both sides are hashed first, so the comparison always runs over 32 bytes: comparing the raw
 * strings would return early on a length mismatch and tell a caller how long the token is.
 */
function sameSecret(offered: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(offered), expected);
}

interface FailureWindow {
  since: number;
  failures: number;
}

/**
 * The address a failed token is counted against. Heroku and Render put the client's address last
 * in X-Forwarded-For (entries before it are whatever the client sent), so that one is used; without
 * the header it is the peer of the socket.
 */
function clientAddress(req: Request): string {
  const forwarded = req.headers['x-forwarded-for'];
  const list = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? ''))
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  return list.at(-1) ?? req.socket.remoteAddress ?? 'unknown';
}

export type AdminCredential = 'open' | 'valid' | 'absent' | 'invalid' | 'blocked';

interface Guard {
  check(req: Request): { credential: AdminCredential; retryAfterSeconds?: number };
}

// One failure count per token for the whole process: the dashboard, /api, /readyz and /metrics
// share it, so a guessing client does not get a fresh budget per route.
const guards = new Map<string, Guard>();

function guardFor(token: string): Guard {
  const expected = digest(token);
  const key = expected.toString('hex');
  const existing = guards.get(key);
  if (existing) return existing;
  const windows = new Map<string, FailureWindow>();
  const guard: Guard = {
    check(req) {
      const address = clientAddress(req);
      const now = Date.now();
      let window = windows.get(address);
      if (window && now - window.since >= FAILED_TOKEN_WINDOW_MS) {
        windows.delete(address);
        window = undefined;
      }
      if (window && window.failures >= MAX_FAILED_TOKENS) {
        return {
          credential: 'blocked',
          retryAfterSeconds: Math.max(1, Math.ceil((window.since + FAILED_TOKEN_WINDOW_MS - now) / 1000)),
        };
      }
      const offered = offeredToken(req);
      if (offered === undefined) return { credential: 'absent' };
      if (sameSecret(offered, expected)) return { credential: 'valid' };
      if (!window) {
        if (windows.size >= MAX_TRACKED_ADDRESSES) windows.delete(windows.keys().next().value as string);
        window = { since: now, failures: 0 };
        windows.set(address, window);
      }
      window.failures += 1;
      return { credential: 'invalid' };
    },
  };
  guards.set(key, guard);
  return guard;
}

function offeredToken(req: Request): string | undefined {
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
  if (bearer) return bearer;
  const basic = /^Basic\s+(.+)$/i.exec(header)?.[1];
  if (!basic) return undefined;
  const password = Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':');
  return password.length > 0 ? password : undefined;
}

/**
 * What the request's credentials amount to, counting a wrong token against its address. `open`
 * when no token is configured (sandbox mode on a laptop).
 */
export function adminCredential(
  adminToken: string | undefined,
  req: Request,
): { credential: AdminCredential; retryAfterSeconds?: number } {
  if (!adminToken) return { credential: 'open' };
  return guardFor(adminToken).check(req);
}

/**
 * Guards the dashboard and the admin API with ADMIN_TOKEN: `Authorization: Bearer <token>` for
 * tools, or HTTP Basic with the token as password so a browser can open the dashboard. Without a
 * token (sandbox mode on a laptop) they are open; production config requires one. After
 * MAX_FAILED_TOKENS wrong tokens within a minute, an address gets 429 until the minute is over.
 */
export function requireAdmin(adminToken: string | undefined, realm = 'cosell-sync') {
  return (req: Request, res: Response, next: NextFunction): void => {
    const { credential, retryAfterSeconds } = adminCredential(adminToken, req);
    if (credential === 'open' || credential === 'valid') {
      next();
      return;
    }
    if (credential === 'blocked') {
      res.setHeader('Retry-After', String(retryAfterSeconds ?? 60));
      sendError(
        res,
        429,
        'TOO_MANY_ATTEMPTS',
        'Authorization: too many wrong tokens from this address; wait',
      );
      return;
    }
    res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    sendError(res, 401, 'UNAUTHORIZED', 'Authorization: a valid admin token is required');
  };
}
