/**
 * `npm run bench:outbound` — Salesforce → Partner Center (issue #3, "Benchmark").
 *
 * Setup: N referrals shared by Microsoft become N synced Opportunities (through the relay, no
 * injected latency, not measured).
 * 1. End-to-end latency: the seller changes one synced Opportunity's Amount through the Salesforce
 *    sandbox's REST API (a jsforce session as the seller); from the sandbox store's change event
 *    to the referral's write in Partner Center (the referral store's own `updatedDateTime` stamp
 *    of the PATCH that carries the new dealValue). 50 ms is added to every Partner Center,
 *    Salesforce REST and Pub/Sub API response. Edits start on a fixed schedule (open loop), each
 *    on a different Opportunity, so none falls inside COALESCE_WINDOW_MS of its previous sync.
 * 2. Salesforce API calls per 1,000 edits in a burst: 1,000 distinct synced Opportunities edited
 *    as fast as the seller can, then wait until every referral carries the new value and the
 *    relay is idle. The relay's calls are the sandbox's counted calls minus the seller's own
 *    (cross-checked with the relay's own count). Two seller styles: a bulk edit (sObject
 *    Collections, 200 records a call — list-view mass edit, Data Loader) and one-record PATCHes
 *    10 at a time (many sellers / a UI), a sustained stream rather than a burst. Each row prints
 *    the ≤ 15 target with its own verdict.
 *
 * Options: --samples=200 --interval=100 --latency=50 --burst=1000 --cpu-load=N --env KEY=VALUE (exploration).
 */
import type { Connection } from 'jsforce';
import { DEFAULT_SELLER_USER } from '../../relay/sandbox/salesforce/users.ts';
import { countJobs } from '../../relay/src/store/queue.ts';
import { globalSetup, globalTeardown } from '../support/globalSetup.ts';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import {
  againstLimits,
  benchEnv,
  cpuLoadArg,
  envOverrides,
  latencyStats,
  numberArg,
  printTable,
  progress,
  sellerConnection,
  sleep,
  startCpuLoad,
  verdict,
  waitUntil,
  writeResults,
} from './support.ts';
import type { LatencyStats, Row } from './support.ts';

const SAMPLES = numberArg('samples', 200);
const INTERVAL_MS = numberArg('interval', 100);
const LATENCY_MS = numberArg('latency', 50);
const CPU_LOAD = cpuLoadArg();
const BURST = numberArg('burst', 1000);
const WARMUP_EDITS = 5;
const SINGLE_EDIT_CONCURRENCY = 10;

interface Synced {
  referralId: string;
  opportunityId: string;
}

/** Referrals shared by Microsoft, synced into Opportunities by the relay itself. */
async function syncedOpportunities(system: TestSystem, count: number): Promise<Synced[]> {
  const { partnerCenter, salesforce } = system.sandboxes;
  const ids = Array.from(
    { length: count },
    (_, i) =>
      partnerCenter.referrals.createAsMicrosoft(
        sampleReferral({ name: `Outbound ${i}`, status: 'Active', substatus: 'Accepted' }),
      ).id,
  );
  const wanted = new Set(ids);
  const found = new Map<string, string>();
  await waitUntil(
    () => {
      for (const o of salesforce.store.all('Opportunity')) {
        const ref = o.Referral_Identifier__c as string;
        if (wanted.has(ref) && o.Referral_Sync_Status__c === 'Synced') found.set(ref, o.Id as string);
      }
      return found.size === count;
    },
    180_000,
    `${count} synced Opportunities`,
    250,
  );
  await waitForIdle(system);
  return ids.map((referralId) => ({ referralId, opportunityId: found.get(referralId) as string }));
}

/** No job queued or running, no webhook delivery pending, and the SF counters still for 1 s. */
async function waitForIdle(system: TestSystem): Promise<void> {
  let lastCalls = -1;
  let stillSince = Date.now();
  await waitUntil(
    async () => {
      const jobs = await countJobs(system.relay.database.pool);
      const deliveries = system.sandboxes.partnerCenter.deliveries
        .list()
        .filter((d) => d.state === 'pending').length;
      const calls = system.sandboxes.salesforce.counters().apiUsage.used;
      const busy = jobs.queued + jobs.running + jobs.retrying + deliveries > 0 || calls !== lastCalls;
      if (busy) stillSince = Date.now();
      lastCalls = calls;
      return !busy && Date.now() - stillSince >= 1000;
    },
    180_000,
    'the relay to become idle',
    100,
  );
}

/** Seller-change time per Opportunity, from the Salesforce sandbox store's change events. */
function watchSellerWrites(system: TestSystem): { at: Map<string, number>; stop(): void } {
  const at = new Map<string, number>();
  const stop = system.sandboxes.salesforce.store.onChange((change) => {
    if (change.sobject === 'Opportunity' && change.userId === DEFAULT_SELLER_USER.id)
      at.set((change.after.Id as string).slice(0, 15), Date.now());
  });
  return { at, stop };
}

/** When the referral's stored dealValue is `amount`: the store's own stamp of that write, in ms. */
function referralWrittenAt(system: TestSystem, referralId: string, amount: number): number | undefined {
  const referral = system.sandboxes.partnerCenter.referrals.get(referralId);
  const details = referral?.details as { dealValue?: number } | undefined;
  return details?.dealValue === amount ? Date.parse(referral!.updatedDateTime) : undefined;
}

function setLatency(system: TestSystem, ms: number): void {
  system.sandboxes.partnerCenter.faults.setLatency(ms);
  system.sandboxes.salesforce.setFaults({ latencyMs: ms });
  system.sandboxes.pubsub.faults.setLatency(ms);
}

async function measureLatency(
  system: TestSystem,
  seller: Connection,
  records: Synced[],
): Promise<LatencyStats> {
  const writes = watchSellerWrites(system);
  const open = new Map<string, { record: Synced; amount: number; measured: boolean }>();
  const results: number[] = [];
  const edit = (record: Synced, amount: number, measured: boolean) => {
    open.set(record.referralId, { record, amount, measured });
    void seller
      .sobject('Opportunity')
      .update({ Id: record.opportunityId, Amount: amount })
      .catch((error: unknown) => progress(`seller edit failed: ${String(error)}`));
  };
  // Checks only the handful of edits in flight; the time comes from the stores, not from here.
  const poll = setInterval(() => {
    for (const [referralId, o] of open) {
      const writtenAt = referralWrittenAt(system, referralId, o.amount);
      const changedAt = writes.at.get(o.record.opportunityId.slice(0, 15));
      if (writtenAt === undefined || changedAt === undefined) continue;
      open.delete(referralId);
      if (o.measured) results.push(writtenAt - changedAt);
    }
  }, 5);
  try {
    for (let i = 0; i < WARMUP_EDITS; i++) edit(records[records.length - 1 - i], 70_000 + i, false);
    await waitUntil(() => open.size === 0, 30_000, 'the warm-up edits');
    progress(`latency: ${SAMPLES} seller edits, one every ${INTERVAL_MS} ms, ${LATENCY_MS} ms per API call`);
    const start = Date.now();
    for (let i = 0; i < SAMPLES; i++) {
      const due = start + i * INTERVAL_MS;
      if (due > Date.now()) await sleep(due - Date.now());
      edit(records[i], 80_000 + i, true);
    }
    await waitUntil(() => open.size === 0, 60_000, `${open.size} referral writes`);
  } finally {
    clearInterval(poll);
    writes.stop();
  }
  return latencyStats(results);
}

interface BurstResult {
  style: string;
  edits: number;
  sellerCalls: number;
  relayCalls: number;
  relayCallsSelfCounted: number;
  per1000: number;
  byEndpoint: Record<string, number>;
  seconds: number;
  latency: LatencyStats;
}

async function burst(
  system: TestSystem,
  seller: Connection,
  records: Synced[],
  style: 'bulk' | 'single',
  amountBase: number,
): Promise<BurstResult> {
  const { salesforce } = system.sandboxes;
  await waitForIdle(system);
  salesforce.resetCounters();
  const relayBefore = system.relay.crm.health().apiCalls;
  const writes = watchSellerWrites(system);
  const amount = (i: number) => amountBase + i;
  const started = Date.now();
  let sellerCalls = 0;
  progress(`burst (${style}): ${records.length} edits`);
  if (style === 'bulk') {
    for (let i = 0; i < records.length; i += 200) {
      const chunk = records.slice(i, i + 200).map((r, j) => ({ Id: r.opportunityId, Amount: amount(i + j) }));
      sellerCalls++;
      const results = await seller.sobject('Opportunity').update(chunk, { allOrNone: true });
      if (results.some((r) => !r.success)) throw new Error('a seller bulk edit failed');
    }
  } else {
    let next = 0;
    await Promise.all(
      Array.from({ length: SINGLE_EDIT_CONCURRENCY }, async () => {
        while (next < records.length) {
          const i = next++;
          sellerCalls++;
          await seller.sobject('Opportunity').update({ Id: records[i].opportunityId, Amount: amount(i) });
        }
      }),
    );
  }
  const writtenAt = new Map<string, number>();
  await waitUntil(
    () => {
      records.forEach((r, i) => {
        if (writtenAt.has(r.referralId)) return;
        const at = referralWrittenAt(system, r.referralId, amount(i));
        if (at !== undefined) writtenAt.set(r.referralId, at);
      });
      return writtenAt.size === records.length;
    },
    180_000,
    `${records.length} referrals to receive the burst`,
    250,
  );
  const seconds = (Math.max(...writtenAt.values()) - started) / 1000;
  await waitForIdle(system);
  writes.stop();
  const counters = salesforce.counters();
  const relayCalls = counters.apiUsage.used - sellerCalls;
  const relayCallsSelfCounted = system.relay.crm.health().apiCalls - relayBefore;
  const latencies = records.map(
    (r) => (writtenAt.get(r.referralId) as number) - (writes.at.get(r.opportunityId.slice(0, 15)) ?? started),
  );
  return {
    style,
    edits: records.length,
    sellerCalls,
    relayCalls,
    relayCallsSelfCounted,
    per1000: Math.round((relayCalls * 1000 * 10) / records.length) / 10,
    byEndpoint: counters.byEndpoint,
    seconds: Math.round(seconds * 100) / 100,
    latency: latencyStats(latencies),
  };
}

async function main(): Promise<void> {
  const overrides = envOverrides();
  const { env, tuning } = benchEnv(overrides);
  const command = [
    'npm run bench:outbound',
    ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
  ].join(' ');
  await globalSetup();
  let system: TestSystem | undefined;
  try {
    progress('starting sandboxes, PostgreSQL and the relay');
    system = await startTestSystem({ env });
    const count = Math.max(BURST, SAMPLES + WARMUP_EDITS);
    progress(`setup: ${count} referrals → synced Opportunities`);
    const records = await syncedOpportunities(system, count);
    const seller = await sellerConnection(system.sandboxes.salesforce.url);

    setLatency(system, LATENCY_MS);
    const load = startCpuLoad(CPU_LOAD);
    if (load.cores > 0) progress(`${load.cores} competing CPU hog(s) running during the measurement`);
    let latency: LatencyStats;
    let bulk: BurstResult;
    let single: BurstResult;
    try {
      latency = await measureLatency(system, seller, records);
      bulk = await burst(system, seller, records.slice(0, BURST), 'bulk', 100_000);
      single = await burst(system, seller, records.slice(0, BURST), 'single', 200_000);
    } finally {
      load.stop();
    }
    setLatency(system, 0);
    // Sequential round trips an outbound change cannot avoid: the change event's delivery over
    // Pub/Sub and the PATCH of the referral (If-Match from the link's stored ETag).
    const OUTBOUND_TRIPS = 2;
    const p99Target = 1000;

    const worst = Math.max(bulk.per1000, single.per1000);
    const burstRow = (b: BurstResult): Row => [
      b.style === 'bulk'
        ? 'SF API calls / 1,000 edits in a burst (mass edit, 200 per save)'
        : `SF API calls / 1,000 edits as a stream (single saves ×${SINGLE_EDIT_CONCURRENCY})`,
      `${b.per1000} calls (${b.relayCalls} for ${b.edits}; relay's own count ${b.relayCallsSelfCounted})`,
      '<= 15',
      verdict(b.per1000 <= 15),
    ];
    const rows: Row[] = [
      [
        'latency p50',
        `${latency.p50} ms (${againstLimits(latency.p50, OUTBOUND_TRIPS, LATENCY_MS)})`,
        '<= 130 ms',
        verdict(latency.p50 <= 130),
      ],
      ['latency p99', `${latency.p99} ms`, `< ${p99Target} ms`, verdict(latency.p99 < p99Target)],
      ['  min / mean / max', `${latency.min} / ${latency.mean} / ${latency.max} ms`, '', ''],
      burstRow(bulk),
      burstRow(single),
    ];
    const breakdown = (b: BurstResult) =>
      Object.entries(b.byEndpoint)
        .filter(([k]) => k !== 'oauth.token')
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    printTable(
      'Outbound (Salesforce → Partner Center)',
      command,
      { ...tuning, 'cpu-load': String(CPU_LOAD) },
      rows,
      [
        `latency: ${latency.samples} seller edits (distinct Opportunities), one started every ${INTERVAL_MS} ms, ${LATENCY_MS} ms added to every PC, SF REST and Pub/Sub response;`,
        `  from the SF sandbox store's change to the PC referral store's write of the new dealValue.`,
        `burst: ${BURST} distinct synced Opportunities, same latency; relay calls = sandbox-counted calls − the seller's own.`,
        `  bulk: all in PC after ${bulk.seconds} s, per-edit p50 ${bulk.latency.p50} / p99 ${bulk.latency.p99} ms; sandbox calls by endpoint (seller's included): ${breakdown(bulk)}`,
        `  single: all in PC after ${single.seconds} s, per-edit p50 ${single.latency.p50} / p99 ${single.latency.p99} ms; sandbox calls by endpoint (seller's included): ${breakdown(single)}`,
      ],
    );
    const file = writeResults('outbound', {
      command,
      settings: tuning,
      latency: {
        injectedApiLatencyMs: LATENCY_MS,
        intervalMs: INTERVAL_MS,
        ...latency,
        targets: { p50Ms: 130, p99Ms: p99Target },
      },
      cpuLoad: CPU_LOAD,
      burst: { target: 15, worstPer1000: worst, bulk, single },
    });
    progress(`figures written to ${file}`);
  } finally {
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
