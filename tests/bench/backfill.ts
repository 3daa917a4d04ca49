/**
 * `npm run bench:backfill` — a first backfill of a tenant's referrals into an empty org: N
 * referrals (default 10,000) exist in Partner Center before the relay ever ran (their webhooks were
 * never delivered), then an operator runs `relay backfill`. Measured from the command's start to the
 * last Opportunity synced, with 50 ms added to every Partner Center and Salesforce call: wall time,
 * Salesforce API calls, and the relay process's resident memory sampled every 250 ms throughout.
 *
 * The relay runs as its own production-mode process (`node relay/src/main.ts`), so its memory is
 * its own and not the sandboxes'. Options: --referrals=10000 --latency=50 --cpu-load=N --log=FILE.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { globalSetup, globalTeardown } from '../support/globalSetup.ts';
import { sampleReferral } from '../support/relayHarness.ts';
import { NODE, spawnRelay, startProductionFixture } from '../support/relayProcess.ts';
import type { ProductionFixture, RelayProcess } from '../support/relayProcess.ts';
import { ROOT } from '../support/relayHarness.ts';
import {
  cpuLoadArg,
  numberArg,
  printTable,
  progress,
  rssMegabytes,
  startCpuLoad,
  verdict,
  waitUntil,
  writeResults,
} from './support.ts';
import type { Row } from './support.ts';

const REFERRALS = numberArg('referrals', 10_000);
const LATENCY_MS = numberArg('latency', 50);
const CPU_LOAD = cpuLoadArg();
const LOG_FILE = process.argv.find((a) => a.startsWith('--log='))?.slice('--log='.length);
const TIME_TARGET_S = 60;
const CALLS_TARGET = 120;
const RSS_TARGET_MB = 250;

function runBackfill(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(NODE, ['relay/src/cli/main.ts', 'backfill', '--json'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

async function main(): Promise<void> {
  const command = [
    'npm run bench:backfill',
    ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
  ].join(' ');
  await globalSetup();
  let fixture: ProductionFixture | undefined;
  let relay: RelayProcess | undefined;
  try {
    progress('starting sandboxes, PostgreSQL and the signed-in relay database');
    fixture = await startProductionFixture('bench-backfill');
    const { sandboxes } = fixture;
    progress(`${REFERRALS} referrals in Partner Center whose webhooks are never delivered`);
    sandboxes.partnerCenter.faults.loseNextDeliveries(REFERRALS);
    for (let i = 0; i < REFERRALS; i++)
      sandboxes.partnerCenter.referrals.createAsMicrosoft(sampleReferral({ name: `Backfill ${i}` }));

    // The product's default tuning (the fixture speeds the test suite's batch window up).
    // --log=FILE keeps the relay's own log (at info) for a look at what it did.
    const env = { ...fixture.env, LOG_LEVEL: LOG_FILE ? 'info' : 'warn' };
    delete (env as Record<string, string | undefined>).BATCH_WINDOW_MS;
    relay = spawnRelay(env);
    await relay.ready(60_000);
    const pid = relay.child.pid as number;

    sandboxes.partnerCenter.faults.setLatency(LATENCY_MS);
    sandboxes.salesforce.setFaults({ latencyMs: LATENCY_MS });
    sandboxes.salesforce.resetCounters();
    const pcCallsBefore = sandboxes.partnerCenter.counters.totalApiCalls();
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const mb = rssMegabytes(pid);
      if (mb !== undefined) samples.push(mb);
    }, 250);
    const load = startCpuLoad(CPU_LOAD);
    // Counted from the store's change feed: copying 10,000 records on every poll would load the
    // machine the benchmark measures.
    const syncedIds = new Set<string>();
    const stopListening = sandboxes.salesforce.store.onChange((change) => {
      if (change.sobject === 'Opportunity' && change.after.Referral_Sync_Status__c === 'Synced')
        syncedIds.add(String(change.after.Id));
    });
    const synced = () => syncedIds.size;
    const started = Date.now();
    let backfill: { code: number | null; output: string };
    try {
      progress('relay backfill');
      backfill = await runBackfill(env);
      if (backfill.code !== 0) throw new Error(`relay backfill exited ${backfill.code}:\n${backfill.output}`);
      await waitUntil(() => synced() >= REFERRALS, 600_000, `${REFERRALS} synced Opportunities`, 250);
    } finally {
      load.stop();
      clearInterval(sampler);
      stopListening();
    }
    const seconds = (Date.now() - started) / 1000;
    const sfCalls = sandboxes.salesforce.counters().apiUsage.used;
    const pcCalls = sandboxes.partnerCenter.counters.totalApiCalls() - pcCallsBefore;
    const opportunities = sandboxes.salesforce.store.all('Opportunity').length;
    const rssMax = Math.max(...samples);
    const rssMin = Math.min(...samples);
    // The calls a backfill cannot avoid, in sequence at best: one list page per 100 referrals
    // ($top=100) from Partner Center, and per 200 records (a Collections call's limit) a read of the
    // Opportunities, a lookup of the Accounts and one write.
    const minimumCalls = Math.ceil(REFERRALS / 100) + Math.ceil(REFERRALS / 200) * 3;
    const rows: Row[] = [
      [
        `backfill of ${REFERRALS.toLocaleString('en-US')} referrals`,
        `${seconds.toFixed(1)} s (${(seconds / ((minimumCalls * LATENCY_MS) / 1000)).toFixed(2)}× limit of ${minimumCalls} calls × ${LATENCY_MS} ms in sequence)`,
        `< ${TIME_TARGET_S} s`,
        verdict(seconds < TIME_TARGET_S),
      ],
      [
        'Salesforce API calls',
        `${sfCalls} (${(sfCalls / Math.ceil(REFERRALS / 200) / 3).toFixed(2)}× the 3 per 200 records)`,
        `<= ${CALLS_TARGET}`,
        verdict(sfCalls <= CALLS_TARGET),
      ],
      ['Partner Center API calls', String(pcCalls), '', ''],
      [
        'relay RSS, max (min)',
        `${rssMax} MB (${rssMin} MB), ${samples.length} samples`,
        `< ${RSS_TARGET_MB} MB`,
        verdict(rssMax < RSS_TARGET_MB),
      ],
      [
        'Opportunities present / expected',
        `${opportunities} / ${REFERRALS}`,
        'equal',
        verdict(opportunities === REFERRALS),
      ],
    ];
    printTable(
      'Backfill (Partner Center → Salesforce, first run)',
      command,
      { 'cpu-load': String(CPU_LOAD), latency: `${LATENCY_MS} ms per PC and SF call` },
      rows,
      [
        `from \`relay backfill\`'s start to the last Opportunity with Referral_Sync_Status__c = Synced; the relay is a`,
        `  separate production-mode process; RSS from /proc/<pid>/status every 250 ms. Microsoft's connector asks users to wait 10 minutes per change.`,
        `Salesforce calls by endpoint: ${Object.entries(sandboxes.salesforce.counters().byEndpoint)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        `Partner Center calls by route: ${Object.entries(sandboxes.partnerCenter.counters.apiCalls())
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      ],
    );
    const file = writeResults('backfill', {
      command,
      referrals: REFERRALS,
      injectedApiLatencyMs: LATENCY_MS,
      cpuLoad: CPU_LOAD,
      seconds,
      salesforceCalls: sfCalls,
      partnerCenterCalls: pcCalls,
      rssMb: { max: rssMax, min: rssMin, samples: samples.length },
      opportunities,
      targets: { seconds: TIME_TARGET_S, salesforceCalls: CALLS_TARGET, rssMb: RSS_TARGET_MB },
    });
    progress(`figures written to ${file}`);
  } finally {
    relay?.kill('SIGKILL');
    await relay?.exited;
    if (LOG_FILE && relay) writeFileSync(LOG_FILE, relay.output());
    await fixture?.dispose();
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
