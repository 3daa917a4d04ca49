/**
 * `npm run bench:inbound` — Partner Center → Salesforce (issue #2, "Benchmark").
 *
 * 1. End-to-end latency: from the sandbox's referral write (in-process `createAsMicrosoft` /
 *    `update`, timestamped just before the call) to the Opportunity write in the Salesforce
 *    sandbox (its record store's change event, not polling), with 50 ms added to every Partner
 *    Center and Salesforce API call. Creates and updates are mixed and started on a fixed schedule
 *    (open loop, a few in flight at a time), so the figure is latency, not queueing. Updates touch
 *    referrals synced more than a second earlier, outside COALESCE_WINDOW_MS.
 * 2. Webhook intake throughput: pre-signed, distinct deliveries (signed by the sandbox exactly as
 *    it signs real ones) sent to the relay's endpoint at a fixed concurrency with the certificate
 *    cache warm and the job workers paused, so it measures verify + durable enqueue + 200; next to
 *    a bare Express app doing one INSERT per request on the same PostgreSQL server, in the same run.
 *
 * Options: --samples=200 --interval=100 (ms between starts) --latency=50 --requests=2000
 * --concurrency=32 --cpu-load=N (N competing CPU hogs during the measurement) --env KEY=VALUE (exploration).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pg from 'pg';
import { HANDLED_EVENTS } from '../../relay/src/partner-center/webhookEvent.ts';
import { globalSetup, globalTeardown } from '../support/globalSetup.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import {
  benchEnv,
  envOverrides,
  latencyStats,
  numberArg,
  againstLimits,
  cpuLoadArg,
  printTable,
  startCpuLoad,
  progress,
  sleep,
  verdict,
  waitUntil,
  writeResults,
} from './support.ts';
import type { LatencyStats, Row } from './support.ts';

const SAMPLES = numberArg('samples', 200);
const INTERVAL_MS = numberArg('interval', 100);
const LATENCY_MS = numberArg('latency', 50);
const CPU_LOAD = cpuLoadArg();
const REQUESTS = numberArg('requests', 2000);
const CONCURRENCY = numberArg('concurrency', 32);
const ROUNDS = 2;
const WARMUP_REFERRALS = 5;
const WARMUP_REQUESTS = 100;

interface Pending {
  kind: 'create' | 'update';
  startedAt: number;
  amount?: number;
  warmup: boolean;
}

interface LatencyResult {
  all: LatencyStats;
  creates: LatencyStats;
  updates: LatencyStats;
}

async function measureLatency(system: TestSystem): Promise<LatencyResult> {
  const { partnerCenter, salesforce } = system.sandboxes;
  const pending = new Map<string, Pending>();
  const syncedAt = new Map<string, number>();
  const results: Array<{ kind: 'create' | 'update'; ms: number }> = [];
  const stopListening = salesforce.store.onChange((change) => {
    if (change.sobject !== 'Opportunity') return;
    const referralId = change.after.Referral_Identifier__c;
    if (typeof referralId !== 'string') return;
    const wait = pending.get(referralId);
    if (!wait) return;
    const done = wait.kind === 'create' ? change.operation === 'insert' : change.after.Amount === wait.amount;
    if (!done) return;
    const now = Date.now();
    pending.delete(referralId);
    syncedAt.set(referralId, now);
    if (!wait.warmup) results.push({ kind: wait.kind, ms: now - wait.startedAt });
  });

  partnerCenter.faults.setLatency(LATENCY_MS);
  salesforce.setFaults({ latencyMs: LATENCY_MS });
  const created: string[] = [];
  const updated = new Set<string>();
  const create = (warmup: boolean) => {
    const startedAt = Date.now();
    const referral = partnerCenter.referrals.createAsMicrosoft(
      sampleReferral({ name: `Latency ${created.length}` }),
    );
    pending.set(referral.id, { kind: 'create', startedAt, warmup });
    created.push(referral.id);
  };
  const update = (id: string) => {
    const amount = 60_000 + updated.size;
    updated.add(id);
    const startedAt = Date.now();
    partnerCenter.referrals.update(id, [{ op: 'replace', path: '/details/dealValue', value: amount }]);
    pending.set(id, { kind: 'update', startedAt, amount, warmup: false });
  };

  // Warm-up: the first sync logs in, fills the token caches and describes; not counted.
  for (let i = 0; i < WARMUP_REFERRALS; i++) create(true);
  await waitUntil(() => pending.size === 0, 30_000, 'the warm-up Opportunities');

  progress(`latency: ${SAMPLES} referral writes, one every ${INTERVAL_MS} ms, ${LATENCY_MS} ms per API call`);
  const start = Date.now();
  for (let i = 0; i < SAMPLES; i++) {
    const due = start + i * INTERVAL_MS;
    if (due > Date.now()) await sleep(due - Date.now());
    // Alternate creates and updates; an update goes to a referral synced over a second ago.
    const now = Date.now();
    const candidate =
      i % 2 === 1
        ? created.find((id) => !updated.has(id) && now - (syncedAt.get(id) ?? now) > 1000)
        : undefined;
    if (candidate) update(candidate);
    else create(false);
  }
  await waitUntil(() => pending.size === 0, 60_000, `${pending.size} Opportunity writes`);
  stopListening();
  partnerCenter.faults.setLatency(0);
  salesforce.setFaults({ latencyMs: 0 });
  const ms = (kind?: 'create' | 'update') => results.filter((r) => !kind || r.kind === kind).map((r) => r.ms);
  return {
    all: latencyStats(ms()),
    creates: latencyStats(ms('create')),
    updates: latencyStats(ms('update')),
  };
}

// ---- intake throughput ------------------------------------------------------------------------

interface Delivery {
  body: string;
  headers: Record<string, string>;
}

/** Signed deliveries as the sandbox sends them, captured by pointing the registration at a sink. */
async function signedDeliveries(system: TestSystem, count: number): Promise<Delivery[]> {
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/sink`;
  const { partnerCenter } = system.sandboxes;
  await system.relay.webhooks.register({
    url: sinkUrl,
    events: [...HANDLED_EVENTS],
    signatureInMsHeader: false,
  });
  for (let i = 0; i < count; i++)
    partnerCenter.referrals.createAsMicrosoft(sampleReferral({ name: `Intake ${i}` }));
  const toSink = () => partnerCenter.deliveries.list().filter((d) => d.url === sinkUrl);
  await waitUntil(
    () => toSink().filter((d) => d.state === 'delivered').length >= count,
    120_000,
    'deliveries to the sink',
    100,
  );
  sink.closeAllConnections();
  sink.close();
  return toSink().map((d) => ({ body: d.body, headers: d.headers }));
}

interface Throughput {
  requests: number;
  seconds: number;
  perSecond: number;
  failures: number;
}

/** Sends each delivery once, `concurrency` at a time over keep-alive connections. */
async function fire(url: string, deliveries: readonly Delivery[], concurrency: number): Promise<Throughput> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let failures = 0;
  let firstFailure = '';
  const send = (d: Delivery) =>
    new Promise<void>((resolve) => {
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: { ...d.headers, 'content-length': Buffer.byteLength(d.body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200 || !text.includes('"accepted"')) {
              failures++;
              firstFailure ||= `HTTP ${res.statusCode} ${text.slice(0, 200)}`;
            }
            resolve();
          });
        },
      );
      req.on('error', (error) => {
        failures++;
        firstFailure ||= error.message;
        resolve();
      });
      req.end(d.body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < deliveries.length) await send(deliveries[next++]);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  if (failures > 0) progress(`${failures} failed requests to ${url}; first: ${firstFailure}`);
  return {
    requests: deliveries.length,
    seconds: Math.round(seconds * 1000) / 1000,
    perSecond: Math.round(deliveries.length / seconds),
    failures,
  };
}

/** The reference point: Express, raw body, one INSERT, 200. Same process, same database server. */
async function startBaseline(): Promise<{ url: string; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: await createTestDatabase('bench_baseline'), max: 30 });
  await pool.query(
    'create table deliveries (id bigserial primary key, body text not null, received_at timestamptz not null default now())',
  );
  const app = express();
  app.post('/webhooks/partner-center', express.raw({ type: () => true }), async (req, res) => {
    try {
      await pool.query('insert into deliveries (body) values ($1)', [(req.body as Buffer).toString('utf8')]);
      res.status(200).json({ status: 'accepted' });
    } catch (error) {
      res.status(503).json({ error: { code: 'INTAKE_FAILED', message: (error as Error).message } });
    }
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/partner-center`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

async function measureIntake(
  system: TestSystem,
): Promise<{ relay: Throughput; baseline: Throughput; rounds: Array<{ relay: number; baseline: number }> }> {
  progress(`intake: signing ${WARMUP_REQUESTS + ROUNDS * REQUESTS} distinct deliveries`);
  const deliveries = await signedDeliveries(system, WARMUP_REQUESTS + ROUNDS * REQUESTS);
  // Intake alone: workers paused, so the jobs the deliveries add wait in the queue.
  await system.relay.queue.runner.stop();
  const relayUrl = `${system.relay.url}/webhooks/partner-center`;
  const baseline = await startBaseline();
  // Warm-up: fetches and caches the signing certificate, opens pool connections, JITs both paths.
  await fire(relayUrl, deliveries.slice(0, WARMUP_REQUESTS), CONCURRENCY);
  await fire(baseline.url, deliveries.slice(0, WARMUP_REQUESTS), CONCURRENCY);
  const rounds: Array<{ relay: Throughput; baseline: Throughput }> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const slice = deliveries.slice(WARMUP_REQUESTS + r * REQUESTS, WARMUP_REQUESTS + (r + 1) * REQUESTS);
    progress(`intake round ${r + 1}/${ROUNDS}: ${REQUESTS} requests at concurrency ${CONCURRENCY}`);
    // Alternate which goes first so neither always runs on a warmer or busier machine.
    const b = r % 2 === 0 ? await fire(baseline.url, slice, CONCURRENCY) : undefined;
    const relay = await fire(relayUrl, slice, CONCURRENCY);
    rounds.push({ relay, baseline: b ?? (await fire(baseline.url, slice, CONCURRENCY)) });
  }
  await baseline.close();
  const total = (pick: (x: { relay: Throughput; baseline: Throughput }) => Throughput): Throughput => {
    const requests = rounds.reduce((a, x) => a + pick(x).requests, 0);
    const seconds = rounds.reduce((a, x) => a + pick(x).seconds, 0);
    return {
      requests,
      seconds: Math.round(seconds * 1000) / 1000,
      perSecond: Math.round(requests / seconds),
      failures: rounds.reduce((a, x) => a + pick(x).failures, 0),
    };
  };
  return {
    relay: total((x) => x.relay),
    baseline: total((x) => x.baseline),
    rounds: rounds.map((x) => ({ relay: x.relay.perSecond, baseline: x.baseline.perSecond })),
  };
}

async function main(): Promise<void> {
  const overrides = envOverrides();
  const { env, tuning } = benchEnv(overrides);
  const command = [
    'npm run bench:inbound',
    ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
  ].join(' ');
  await globalSetup();
  let system: TestSystem | undefined;
  try {
    progress('starting sandboxes, PostgreSQL and the relay');
    system = await startTestSystem({ env });
    const load = startCpuLoad(CPU_LOAD);
    if (load.cores > 0) progress(`${load.cores} competing CPU hog(s) running during the measurement`);
    const latency = await measureLatency(system).catch((error: unknown) => {
      load.stop();
      throw error;
    });
    const intake = await measureIntake(system).finally(() => load.stop());
    if (intake.relay.failures > 0 || intake.baseline.failures > 0)
      throw new Error('intake requests failed (see above); figures not valid');
    const ratio = intake.relay.perSecond / intake.baseline.perSecond;
    const fmt = (s: LatencyStats) => `p50 ${s.p50} ms / p99 ${s.p99} ms`;
    // Sequential round trips an inbound write cannot avoid: GET the referral, read the
    // Opportunity and find the Account (in parallel), write Account and Opportunity in one call;
    // an update whose link proves no unseen Salesforce change: GET the referral, write.
    const CREATE_TRIPS = 3;
    const UPDATE_TRIPS = 2;
    const p99Target = load.cores > 0 ? 1000 : 400;
    const rows: Row[] = [
      [
        'create p50',
        `${latency.creates.p50} ms (${againstLimits(latency.creates.p50, CREATE_TRIPS, LATENCY_MS)})`,
        '<= 180 ms',
        verdict(latency.creates.p50 <= 180),
      ],
      [
        'update p50',
        `${latency.updates.p50} ms (${againstLimits(latency.updates.p50, UPDATE_TRIPS, LATENCY_MS)})`,
        '<= 130 ms',
        verdict(latency.updates.p50 <= 130),
      ],
      [
        'p99 (all)',
        `${latency.all.p99} ms`,
        `${load.cores > 0 ? '<' : '<='} ${p99Target} ms`,
        verdict(load.cores > 0 ? latency.all.p99 < p99Target : latency.all.p99 <= p99Target),
      ],
      ['  creates', fmt(latency.creates), '', ''],
      ['  updates', fmt(latency.updates), '', ''],
      ['  min / mean / max', `${latency.all.min} / ${latency.all.mean} / ${latency.all.max} ms`, '', ''],
      ['intake: relay', `${intake.relay.perSecond} req/s`, '', ''],
      ['intake: Express + 1 INSERT', `${intake.baseline.perSecond} req/s`, '', ''],
      ['intake ratio', `${Math.round(ratio * 100)} %`, '>= 80 %', verdict(ratio >= 0.8)],
    ];
    printTable(
      'Inbound (Partner Center → Salesforce)',
      command,
      { ...tuning, 'cpu-load': String(CPU_LOAD) },
      rows,
      [
        `latency: ${latency.all.samples} referral writes (${latency.creates.samples} creates, ${latency.updates.samples} updates), one started every ${INTERVAL_MS} ms, ${LATENCY_MS} ms added to every PC and SF API call;`,
        `  from the PC sandbox write to the SF sandbox store's Opportunity change.`,
        `intake: ${ROUNDS} × ${REQUESTS} distinct signed deliveries per server at concurrency ${CONCURRENCY}, certificate cache warm, job workers paused;`,
        `  per-round req/s relay/baseline: ${intake.rounds.map((r) => `${r.relay}/${r.baseline}`).join(', ')}.`,
      ],
    );
    const file = writeResults('inbound', {
      command,
      settings: tuning,
      latency: {
        injectedApiLatencyMs: LATENCY_MS,
        intervalMs: INTERVAL_MS,
        ...latency,
        targets: { createP50Ms: 180, updateP50Ms: 130, p99Ms: p99Target },
      },
      intake: { concurrency: CONCURRENCY, ...intake, ratio: Math.round(ratio * 1000) / 1000, target: 0.8 },
      cpuLoad: CPU_LOAD,
    });
    progress(`figures written to ${file}`);
  } finally {
    // Workers were stopped by the intake measurement; the rest stops normally.
    await system?.stop().catch(() => undefined);
    await globalTeardown();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
