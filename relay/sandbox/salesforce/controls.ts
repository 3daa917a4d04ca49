/**
 * The sandbox's knobs and meters: API-call counters (API calls are the org's scarce resource, so
 * the relay's batching is judged by these numbers) and fault injection for the fault suite and the
 * benchmarks. Shared by the in-process API and the `/_sandbox/` admin routes.
 */

export interface SandboxFaults {
  /** Delay added before every API and OAuth request is handled. */
  latencyMs: number;
  /** The next N record writes fail with UNABLE_TO_LOCK_ROW (per record inside collections). */
  lockNextWrites: number;
  /** The next N API calls fail with 403 REQUEST_LIMIT_EXCEEDED. */
  limitNextCalls: number;
}

export interface SandboxCounters {
  /** What Sforce-Limit-Info reports: calls counted against the org's daily allocation. */
  apiUsage: { used: number; limit: number };
  /** Every request handled, by endpoint kind (e.g. `query`, `collections.upsert`, `oauth.token`). */
  byEndpoint: Record<string, number>;
}

/** One counted REST request as the sandbox received it (JSON body parsed), for tests that assert on writes. */
export interface SandboxRequestLogEntry {
  /** Arrival time, epoch ms. */
  at: number;
  method: string;
  path: string;
  endpoint: string;
  body?: unknown;
}

export interface SandboxControls {
  faults(): SandboxFaults;
  setFaults(faults: Partial<SandboxFaults>): SandboxFaults;
  clearFaults(): void;
  /** Consumes one injected lock failure; true when this write must fail. */
  takeLockFault(): boolean;
  /** Consumes one injected limit failure; true when this call must fail. */
  takeLimitFault(): boolean;
  /** Records one request; `apiCall` ones count against the allocation. */
  record(endpoint: string, apiCall: boolean): void;
  /** True once the daily allocation is spent. */
  limitReached(): boolean;
  limitInfoHeader(): string;
  counters(): SandboxCounters;
  /** Appends to the request log (the last 1,000 requests are kept). */
  logRequest(entry: SandboxRequestLogEntry): void;
  /** The logged requests, oldest first; cleared by resetCounters. */
  requests(): SandboxRequestLogEntry[];
  resetCounters(): void;
}

const REQUEST_LOG_SIZE = 1000;

const NO_FAULTS: SandboxFaults = { latencyMs: 0, lockNextWrites: 0, limitNextCalls: 0 };

function nonNegativeInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer`);
  return value;
}

export function createSandboxControls(
  options: { apiLimit?: number; faults?: Partial<SandboxFaults> } = {},
): SandboxControls {
  // An Enterprise Edition org's allocation starts at 100,000 calls per 24 hours.
  const limit = options.apiLimit ?? 100_000;
  let faults: SandboxFaults = { ...NO_FAULTS };
  let used = 0;
  let byEndpoint: Record<string, number> = {};
  let requestLog: SandboxRequestLogEntry[] = [];

  const controls: SandboxControls = {
    faults: () => ({ ...faults }),
    setFaults: (changes) => {
      const next = { ...faults };
      for (const key of Object.keys(NO_FAULTS) as Array<keyof SandboxFaults>) {
        if (changes[key] !== undefined) next[key] = nonNegativeInteger(key, changes[key]);
      }
      for (const key of Object.keys(changes)) {
        if (!(key in NO_FAULTS)) throw new Error(`Unknown fault ${key}`);
      }
      faults = next;
      return { ...faults };
    },
    clearFaults: () => {
      faults = { ...NO_FAULTS };
    },
    takeLockFault: () => {
      if (faults.lockNextWrites === 0) return false;
      faults.lockNextWrites -= 1;
      return true;
    },
    takeLimitFault: () => {
      if (faults.limitNextCalls === 0) return false;
      faults.limitNextCalls -= 1;
      return true;
    },
    record: (endpoint, apiCall) => {
      byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + 1;
      if (apiCall) used += 1;
    },
    limitReached: () => used >= limit,
    limitInfoHeader: () => `api-usage=${used}/${limit}`,
    counters: () => ({ apiUsage: { used, limit }, byEndpoint: { ...byEndpoint } }),
    logRequest: (entry) => {
      requestLog.push(entry);
      if (requestLog.length > REQUEST_LOG_SIZE) requestLog.splice(0, requestLog.length - REQUEST_LOG_SIZE);
    },
    requests: () => requestLog.map((entry) => structuredClone(entry)),
    resetCounters: () => {
      used = 0;
      byEndpoint = {};
      requestLog = [];
    },
  };
  if (options.faults) controls.setFaults(options.faults);
  return controls;
}
