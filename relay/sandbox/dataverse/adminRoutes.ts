import type { DataverseApiError } from './errors.ts';
import type { ApiResponse } from './webApi.ts';

/**
 * `/_sandbox/…` on the Dataverse sandbox: what a test or another process (the demo, the fault
 * suite) uses to act as a seller, read rows and webhook deliveries, and set faults. Not part of
 * the Dataverse contract; no token, as the Salesforce sandbox's admin routes.
 */

export interface AdminTarget {
  sellerUserId: string;
  rows(table: string): unknown[];
  row(table: string, id: string): unknown;
  create(table: string, data: Record<string, unknown>): unknown;
  update(table: string, id: string, data: Record<string, unknown>): unknown;
  remove(table: string, id: string): void;
  counters(): unknown;
  resetCounters(): void;
  deliveries(): unknown[];
  setFaults(faults: AdminFaults): void;
  clearFaults(): void;
  finishKeyIndexes(): void;
  isTable(table: string): boolean;
}

export interface AdminFaults {
  throttle?: { count: number; retryAfterSeconds: number };
  unavailable?: { count: number };
  slow?: { count: number; ms: number };
  latencyMs?: number;
  webhookBodyLimitBytes?: number;
}

const json = (status: number, body: unknown): ApiResponse => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8' },
  body: JSON.stringify(body),
});
const problem = (status: number, message: string) =>
  json(status, { error: { code: 'REQUEST_INVALID', message } });

function parseObject(body: string): Record<string, unknown> | string {
  try {
    const parsed: unknown = body.trim() === '' ? {} : JSON.parse(body);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
    return 'The body must be a JSON object';
  } catch {
    return 'The body is not valid JSON';
  }
}

const count = (value: unknown, field: string): number => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new Error(`${field} must be a non-negative integer`);
  return value;
};

/** Checks the shape of a faults body, naming the field at fault. */
export function readFaults(body: Record<string, unknown>): AdminFaults {
  const out: AdminFaults = {};
  const object = (value: unknown, field: string) => {
    if (!value || typeof value !== 'object') throw new Error(`${field} must be an object`);
    return value as Record<string, unknown>;
  };
  if (body.throttle !== undefined) {
    const t = object(body.throttle, 'throttle');
    out.throttle = {
      count: count(t.count, 'throttle.count'),
      retryAfterSeconds: count(t.retryAfterSeconds, 'throttle.retryAfterSeconds'),
    };
  }
  if (body.unavailable !== undefined)
    out.unavailable = { count: count(object(body.unavailable, 'unavailable').count, 'unavailable.count') };
  if (body.slow !== undefined) {
    const s = object(body.slow, 'slow');
    out.slow = { count: count(s.count, 'slow.count'), ms: count(s.ms, 'slow.ms') };
  }
  if (body.latencyMs !== undefined) out.latencyMs = count(body.latencyMs, 'latencyMs');
  if (body.webhookBodyLimitBytes !== undefined)
    out.webhookBodyLimitBytes = count(body.webhookBodyLimitBytes, 'webhookBodyLimitBytes');
  return out;
}

export function handleAdmin(method: string, path: string, body: string, target: AdminTarget): ApiResponse {
  const parts = path.split('?')[0].split('/').filter(Boolean).slice(1);
  const [head, table, id] = parts;
  try {
    if (head === 'users' && method === 'GET') return json(200, { sellerUserId: target.sellerUserId });
    if (head === 'counters' && method === 'GET') return json(200, target.counters());
    if (head === 'counters' && parts[1] === 'reset' && method === 'POST') {
      target.resetCounters();
      return { status: 204, headers: {} };
    }
    if (head === 'deliveries' && method === 'GET') return json(200, { deliveries: target.deliveries() });
    if (head === 'key-indexes' && parts[1] === 'finish' && method === 'POST') {
      target.finishKeyIndexes();
      return { status: 204, headers: {} };
    }
    if (head === 'faults') {
      if (method === 'DELETE') {
        target.clearFaults();
        return { status: 204, headers: {} };
      }
      if (method === 'POST') {
        const parsed = parseObject(body);
        if (typeof parsed === 'string') return problem(400, parsed);
        target.setFaults(readFaults(parsed));
        return { status: 204, headers: {} };
      }
    }
    if (head === 'rows' && table) {
      if (!target.isTable(table))
        return problem(404, `No table ${table} (use the logical name, e.g. opportunity)`);
      if (method === 'GET' && !id) return json(200, { rows: target.rows(table) });
      if (method === 'GET') {
        const row = target.row(table, id);
        return row ? json(200, row) : problem(404, `No ${table} ${id}`);
      }
      if (method === 'DELETE' && id) {
        target.remove(table, id);
        return { status: 204, headers: {} };
      }
      const parsed = parseObject(body);
      if (typeof parsed === 'string') return problem(400, parsed);
      if (method === 'POST' && !id) return json(201, target.create(table, parsed));
      if (method === 'PATCH' && id) return json(200, target.update(table, id, parsed));
    }
    return problem(404, `No sandbox admin route ${method} ${path.split('?')[0]}`);
  } catch (err) {
    const apiError = err as Partial<DataverseApiError>;
    if (typeof apiError.status === 'number' && typeof apiError.code === 'string')
      return json(apiError.status, { error: { code: apiError.code, message: apiError.message } });
    return problem(400, err instanceof Error ? err.message : String(err));
  }
}
