import type { Response } from 'express';
import { isRelayError } from '../errors.ts';

/** Every HTTP error leaves as `{ "error": { "code", "message" } }`; the message names the field or header at fault. */
export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

export function sendRelayError(res: Response, error: unknown): void {
  if (isRelayError(error) && error.status) sendError(res, error.status, error.code, error.message);
  else sendError(res, 500, 'INTERNAL', 'Internal error');
}
