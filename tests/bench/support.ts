/**
 * Shared pieces of the benchmarks: a whole system on the product's default tuning, latency
 * statistics, the printed table and the JSON figures the README quotes.
 *
 * Each benchmark starts its own embedded PostgreSQL cluster (the test suite's global setup), so
 * `npm run bench:*` needs nothing running. Settings can be overridden for exploration with
 * `--env KEY=VALUE` (repeatable); the printed table says which settings were used.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { Connection } from 'jsforce';
import { loadConfig } from '../../relay/src/config.ts';
import type { RelayConfig } from '../../relay/src/config.ts';
import { DEFAULT_SELLER_APP, DEFAULT_SELLER_USER } from '../../relay/sandbox/salesforce/users.ts';
import { ROOT } from '../support/relayHarness.ts';
import { waitFor } from '../support/waitFor.ts';

/** The tuning keys the figures depend on; printed with every result. */
export const TUNING_KEYS = [
  'BATCH_WINDOW_MS',
  'COALESCE_WINDOW_MS',
  'WORKER_CONCURRENCY',
  'SF_PUBSUB_BATCH_SIZE',
] as const;

/** `--env KEY=VALUE` arguments (exploration only; the README quotes runs without them). */
export function envOverrides(argv: readonly string[] = process.argv.slice(2)): Record<string, string> {
  const env: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value =
      arg === '--env' ? argv[++i] : arg.startsWith('--env=') ? arg.slice('--env='.length) : undefined;
    if (value === undefined) continue;
    const eq = value.indexOf('=');
    if (eq <= 0) throw new Error(`--env ${value}: expected KEY=VALUE`);
    env[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return env;
}

/** A numeric `--name=value` argument, e.g. `--samples=100`. */
export function numberArg(
  name: string,
  fallback: number,
  argv: readonly string[] = process.argv.slice(2),
): number {
  const prefix = `--${name}=`;
  const raw = argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name}: expected a positive number, got ${raw}`);
  return value;
}

/**
 * The test harness speeds some settings up for the suite (BATCH_WINDOW_MS=10,
 * WORKER_CONCURRENCY=50); the benchmarks put the product defaults back so the figures describe
 * what `npm start` and production run, then apply the explicit overrides.
 */
export function benchEnv(overrides: Record<string, string>): {
  env: Record<string, string>;
  tuning: Record<string, string>;
} {
  const defaults = loadConfig({ env: { COSELL_MODE: 'sandbox' }, rootDir: ROOT }) as RelayConfig;
  const env: Record<string, string> = {};
  for (const key of TUNING_KEYS) env[key] = String(defaults[key]);
  Object.assign(env, overrides);
  const tuning: Record<string, string> = {};
  for (const key of TUNING_KEYS) tuning[key] = `${env[key]}${key in overrides ? ' (override)' : ''}`;
  for (const key of Object.keys(overrides))
    if (!(TUNING_KEYS as readonly string[]).includes(key)) tuning[key] = `${overrides[key]} (override)`;
  return { env, tuning };
}

/** A Salesforce REST session as the seller (OAuth password grant), the way a person's client edits records. */
export async function sellerConnection(loginUrl: string): Promise<Connection> {
  const conn = new Connection({
    oauth2: {
      loginUrl,
      clientId: DEFAULT_SELLER_APP.clientId,
      clientSecret: DEFAULT_SELLER_APP.clientSecret,
    },
    version: '62.0',
  });
  await conn.login(DEFAULT_SELLER_USER.username, DEFAULT_SELLER_USER.password as string);
  return conn;
}

// ---- statistics -----------------------------------------------------------------------------------

export interface LatencyStats {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function latencyStats(values: readonly number[]): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    samples: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    min: round(sorted[0] ?? Number.NaN),
    max: round(sorted.at(-1) ?? Number.NaN),
    mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  };
}

export function verdict(pass: boolean): 'PASS' | 'MISS' {
  return pass ? 'PASS' : 'MISS';
}

// ---- output ---------------------------------------------------------------------------------------

export type Row = [metric: string, value: string, target: string, verdict: string];

/** Prints the compact table: the command that produced it, the settings, one row per figure. */
export function printTable(
  title: string,
  command: string,
  tuning: Record<string, string>,
  rows: Row[],
  notes: string[] = [],
): void {
  const header: Row = ['metric', 'value', 'target', ''];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i].length)));
  const line = (r: Row) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const out = [
    '',
    `${title}`,
    `$ ${command}`,
    `settings: ${Object.entries(tuning)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
    `machine: ${os.cpus().length} cores, Node ${process.version}`,
    '',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    ...(notes.length > 0 ? ['', ...notes.map((n) => `  ${n}`)] : []),
    '',
  ];
  console.log(out.join('\n'));
}

/** Writes the figures to .data/bench/<name>.json (git-ignored) for the README. */
export function writeResults(name: string, figures: Record<string, unknown>): string {
  const dir = path.join(ROOT, '.data', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ name, at: new Date().toISOString(), cores: os.cpus().length, node: process.version, ...figures }, null, 2)}\n`,
  );
  return file;
}

/** Progress on stderr, so stdout keeps only the table. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Waits for `check` with a deadline; benchmarks never sleep to wait for work. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<void> {
  await waitFor(check, { timeoutMs, intervalMs, message: what });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- load and comparisons -------------------------------------------------------------------------

/**
 * `--cpu-load=N`: N processes that each keep one core busy for the whole measurement, so the
 * figures show what the relay does on a machine that is not idle. 0 (the default) starts none.
 */
export function startCpuLoad(cores: number): { cores: number; stop(): void } {
  const hogs = Array.from({ length: cores }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
  );
  const stop = () => {
    for (const hog of hogs) hog.kill('SIGKILL');
  };
  // A benchmark that throws must not leave a core spinning.
  process.once('exit', stop);
  return { cores, stop };
}

/** `--cpu-load=N` (cores to keep busy; 0 by default). */
export function cpuLoadArg(argv: readonly string[] = process.argv.slice(2)): number {
  const raw = argv.find((a) => a.startsWith('--cpu-load='))?.slice('--cpu-load='.length);
  if (raw === undefined) return 0;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--cpu-load: expected a whole number of cores, got ${raw}`);
  return value;
}

/** Microsoft's Power Automate co-sell connector asks users to wait this long for a sync. */
export const PEER_WAIT_MS = 10 * 60_000;

/**
 * A latency next to its physical limit (the sequential round trips it cannot avoid × the injected
 * latency per call) and next to the peer: "1.3× limit of 3 × 50 ms; 1/2,300 of the connector's 10 min".
 */
export function againstLimits(ms: number, roundTrips: number, latencyMs: number): string {
  const limit = roundTrips * latencyMs;
  const peer = Math.round(PEER_WAIT_MS / ms).toLocaleString('en-US');
  return `${(ms / limit).toFixed(2)}× limit of ${roundTrips} × ${latencyMs} ms; 1/${peer} of the connector's 10 min`;
}

/** Resident set size of a process in MB, read from /proc (Linux), or undefined once it is gone. */
export function rssMegabytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}
