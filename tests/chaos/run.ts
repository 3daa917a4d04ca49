/**
 * One fault-suite run: start the system, play the seed's schedule (workload and faults), quiesce,
 * compare both sides and return the figures. main.ts prints them; chaos.test.ts asserts on them.
 */
import { SANDBOX_PARTNER_USER } from '../../relay/sandbox/index.ts';
import { listAudit } from '../../relay/src/store/audit.ts';
import { findLinkByReferral } from '../../relay/src/store/links.ts';
import { countJobs, listFailedJobs } from '../../relay/src/store/queue.ts';
import { compareSides } from './compare.ts';
import type { Comparison, Finding } from './compare.ts';
import { buildSchedule, describeFault } from './schedule.ts';
import type { Fault } from './schedule.ts';
import { startChaosSystem } from './system.ts';
import type { ChaosSystem, ExitRecord, InstanceName } from './system.ts';
import { startWorkload } from './workload.ts';

export interface ChaosOptions {
  seed: number;
  changes: number;
  kills: number;
  /** Latency added to every sandbox API answer (ms). */
  latencyMs?: number;
  /** How long the system may take to converge once the last fault is over. */
  convergeTimeoutMs?: number;
  without?: ReadonlySet<Fault['kind']>;
  log?: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  changes: number;
  plannedChanges: number;
  pairs: number;
  kills: { external: number; crashPoints: number; crashPointsArmed: number };
  restarts: number;
  otherExits: ExitRecord[];
  faults: Record<string, number>;
  comparison: Comparison;
  deadLetters: Array<{
    id: string;
    task: string;
    key: string | null;
    attempts: number;
    payload: unknown;
    lastError: string | null;
  }>;
  maxSubscribers: number;
  /** For the first few lost or stale fields: the pair's link and audit trail, to start a diagnosis. */
  evidence: string[];
  convergedAfterMs: number | null;
  apiCalls: { salesforce: number; partnerCenter: number; perChange: number };
  passed: boolean;
  failures: string[];
  elapsedMs: number;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[chaos] ${line}\n`));
  const began = Date.now();
  const schedule = buildSchedule(options);
  log(
    `seed ${options.seed}: ${schedule.steps.length} steps, ${schedule.plannedChanges} planned changes, ${options.kills} kills`,
  );
  // Partner Center starts 2 minutes behind the relay; the clock-skew fault steps it 2 minutes ahead.
  let clockOffset = options.without?.has('clock-skew') ? 0 : -120_000;
  const system: ChaosSystem = await startChaosSystem({
    partnerCenterClockOffset: () => clockOffset,
    env: {
      // A short reconcile cron: it is the net under lost webhooks and expired replay ids.
      RECONCILE_CRON: '* * * * *',
    },
    log,
  });
  try {
    return await play(system, schedule, options, log, began, (ms) => (clockOffset = ms));
  } finally {
    await system.stop();
  }
}

async function play(
  system: ChaosSystem,
  schedule: ReturnType<typeof buildSchedule>,
  options: ChaosOptions,
  log: (line: string) => void,
  began: number,
  setClockOffset: (ms: number) => void,
): Promise<ChaosResult> {
  const { sandboxes } = system;
  const { partnerCenter, salesforce, pubsub, entra } = sandboxes;
  const latency = options.latencyMs ?? 20;
  partnerCenter.faults.setLatency(latency);
  salesforce.setFaults({ latencyMs: latency });
  pubsub.faults.setLatency(latency);
  // Short-lived delegated tokens, so a revoked refresh token bites within the run: MSAL renews
  // 5 minutes before expiry, i.e. about a minute after each token is issued.
  entra.setTokenLifetimes({ accessTokenSeconds: 360 });
  const workload = await startWorkload(sandboxes, { waitMs: 60_000, log });
  const faultCounts: Record<string, number> = {};
  let lastFaultAt = Date.now();
  let crashPointsArmed = 0;
  const background: Array<Promise<unknown>> = [];
  // One fault action per instance at a time (a kill waits for the previous restart).
  const chains: Record<InstanceName | 'postgres', Promise<unknown>> = {
    A: Promise.resolve(),
    B: Promise.resolve(),
    postgres: Promise.resolve(),
  };
  const chain = (key: InstanceName | 'postgres', work: () => Promise<unknown>) => {
    const next = chains[key]
      .then(work, work)
      .catch((error: Error) => log(`fault action failed: ${error.message}`));
    chains[key] = next;
    background.push(next);
  };
  const later = (ms: number, work: () => unknown) => {
    background.push(
      new Promise<void>((resolve) =>
        setTimeout(() => {
          Promise.resolve()
            .then(work)
            .catch((error: Error) => log(`fault end failed: ${error.message}`))
            .finally(() => {
              lastFaultAt = Date.now();
              resolve();
            });
        }, ms),
      ),
    );
  };

  const inject = (fault: Fault) => {
    faultCounts[fault.kind] = (faultCounts[fault.kind] ?? 0) + 1;
    lastFaultAt = Date.now();
    log(`fault: ${describeFault(fault)} (after ${workload.changes()} changes)`);
    switch (fault.kind) {
      case 'kill':
        if (fault.crashPoint) crashPointsArmed++;
        if (fault.crashPoint?.startsWith('pubsub-batch:')) {
          // Only the leader commits Pub/Sub batches: the point is armed on whichever leads now.
          background.push(
            system.leader().then((leader) => {
              const victim = leader ?? fault.instance;
              chain(victim, () => system.kill(victim, fault.crashPoint));
            }),
          );
          return;
        }
        chain(fault.instance, () => system.kill(fault.instance, fault.crashPoint));
        return;
      case 'postgres-restart':
        chain('postgres', async () => {
          await system.restartPostgres();
          lastFaultAt = Date.now();
        });
        return;
      case 'pc-throttle-storm':
        partnerCenter.faults.throttleNext(fault.calls, 1);
        return;
      case 'pc-unavailable-storm':
        partnerCenter.faults.failNext(fault.calls);
        return;
      case 'webhooks-lost':
        partnerCenter.faults.loseNextDeliveries(fault.deliveries);
        return;
      case 'sf-row-locks':
        salesforce.setFaults({ lockNextWrites: fault.writes });
        return;
      case 'sf-limit-outage':
        // The org is out of API calls: every call fails until the (compressed) reset.
        salesforce.setFaults({ limitNextCalls: 1_000_000 });
        later(fault.seconds * 1000, () => salesforce.setFaults({ limitNextCalls: 0 }));
        return;
      case 'pubsub-stream-drop':
        pubsub.faults.dropStreamMidBatch(fault.afterEvents);
        return;
      case 'pubsub-replay-expired':
        // The stored replay id is only presented again when the stream reopens: age it, then drop it.
        pubsub.faults.expireReplayIds();
        pubsub.faults.dropStreamMidBatch(0);
        return;
      case 'token-revoked':
        entra.revokeRefreshTokens(SANDBOX_PARTNER_USER);
        later(fault.seconds * 1000, () => system.login());
        return;
      case 'clock-skew':
        setClockOffset(fault.offsetMs);
        return;
      case 'certificate-rotated': {
        // The renewal knob arrives with the certificate re-fetch change (hardening); until then the
        // fault is counted as skipped.
        const renew = (partnerCenter as { renewSigningCertificate?: () => Promise<void> })
          .renewSigningCertificate;
        if (!renew) {
          faultCounts[fault.kind]--;
          faultCounts['certificate-rotated (skipped: sandbox cannot renew)'] =
            (faultCounts['certificate-rotated (skipped: sandbox cannot renew)'] ?? 0) + 1;
          return;
        }
        background.push(renew.call(partnerCenter).catch((e: Error) => log(`renewal: ${e.message}`)));
        return;
      }
      case 'reconcile':
        background.push(
          system.admin('POST', '/api/reconcile').catch((e: Error) => log(`reconcile: ${e.message}`)),
        );
        return;
      case 'backfill':
        chain(fault.instance, () =>
          fetch(`${system.instances[fault.instance].url}/api/backfill`, {
            method: 'POST',
            headers: { authorization: `Bearer child-relay-admin-token` },
          }).catch((e: Error) => log(`backfill: ${e.message}`)),
        );
        return;
    }
  };

  let step = 0;
  for (const s of schedule.steps) {
    step++;
    if ('fault' in s) inject(s.fault);
    else await workload.run(s.op);
    if (step % 250 === 0) log(`${step}/${schedule.steps.length} steps, ${workload.changes()} changes`);
  }
  log(`workload done: ${workload.changes()} changes; waiting for the faults to end`);
  await Promise.all(background);
  // Quiesce: the storms are spent or cleared, sync is on everywhere. The clocks stay skewed: a
  // relay must converge with Partner Center's clock off, not only once it is right again.
  partnerCenter.faults.update({ throttleNext: 0, unavailableNext: 0, loseNextDeliveries: 0 });
  salesforce.setFaults({ lockNextWrites: 0, limitNextCalls: 0 });
  lastFaultAt = Date.now();
  await workload.syncAllOn();
  await system.bothReady();
  await system.admin('POST', '/api/reconcile').catch(() => undefined);

  const convergeTimeout = options.convergeTimeoutMs ?? 240_000;
  let comparison = compareSides(sandboxes, workload.pairs);
  let convergedAt: number | null = null;
  let lastReconcile = Date.now();
  while (Date.now() - lastFaultAt < convergeTimeout) {
    comparison = compareSides(sandboxes, workload.pairs);
    const jobs = await countJobs(system.db).catch(() => null);
    const pending = partnerCenter.deliveries.list().filter((d) => d.state === 'pending').length;
    const idle = jobs !== null && jobs.queued + jobs.running + jobs.retrying === 0 && pending === 0;
    if (comparison.findings.length === 0 && idle) {
      convergedAt = Date.now();
      break;
    }
    if (Date.now() - lastReconcile > 30_000) {
      lastReconcile = Date.now();
      log(
        `not converged yet: ${comparison.findings.length} findings, jobs ${JSON.stringify(jobs)}, ${pending} deliveries pending`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const deadLetters = (await listFailedJobs(system.db, 1000).catch(() => [])).map((j) => ({
    id: j.id,
    task: j.task,
    key: j.key,
    attempts: j.attempts,
    payload: j.payload,
    lastError: j.lastError,
  }));

  const evidence: string[] = [];
  for (const finding of comparison.findings
    .filter((f) => f.kind === 'lost' || f.kind === 'stale')
    .slice(0, 3)) {
    const pair = workload.pairs[finding.pair];
    if (!pair?.referralId) continue;
    const link = await findLinkByReferral(system.db, pair.referralId).catch(() => null);
    const trail = await listAudit(system.db, { referralId: pair.referralId, limit: 12 }).catch(() => []);
    evidence.push(
      [
        `pair ${finding.pair} (${pair.origin}, referral ${pair.referralId}, opportunity ${pair.opportunityId ?? '?'}): ${finding.detail}`,
        `  link: outbound notes ${JSON.stringify(link?.outboundValues?.notes)}, inbound Description ${JSON.stringify((link?.inboundValues as Record<string, unknown> | null)?.Description)}, status ${link?.syncStatus}`,
        ...trail
          .reverse()
          .map((e) => `  ${e.at.toISOString()} ${e.direction} job ${e.jobId ?? '-'}: ${e.message}`),
      ].join('\n'),
    );
  }
  const exits = system.exits;
  const external = exits.filter((e) => e.cause === 'killed').length;
  const crashPoints = exits.filter((e) => e.cause === 'crash-point').length;
  const otherExits = exits.filter((e) => e.cause === 'other');
  const sfUsed = salesforce.counters().apiUsage.used - workload.sellerCalls();
  const pcUsed = partnerCenter.counters.totalApiCalls();
  const changes = workload.changes();
  const failures: string[] = [];
  const count = (kind: Finding['kind']) => comparison.count(kind);
  if (count('missing') > 0) failures.push(`${count('missing')} missing records`);
  if (count('duplicate') > 0) failures.push(`${count('duplicate')} duplicates`);
  if (count('lost') > 0) failures.push(`${count('lost')} lost changes`);
  if (count('stale') > 0) failures.push(`${count('stale')} stale fields`);
  if (deadLetters.length > 0)
    failures.push(`${deadLetters.length} dead letters (none was injected as permanent)`);
  if (otherExits.length > 0) failures.push(`${otherExits.length} relay exits nobody caused`);
  if (system.maxSubscribers() > 1) failures.push(`${system.maxSubscribers()} Pub/Sub subscribers at once`);
  if (convergedAt === null) failures.push('did not converge');
  return {
    seed: options.seed,
    changes,
    plannedChanges: schedule.plannedChanges,
    pairs: workload.pairs.length,
    kills: { external, crashPoints, crashPointsArmed },
    restarts: system.starts() - 2,
    otherExits,
    faults: faultCounts,
    comparison,
    deadLetters,
    maxSubscribers: system.maxSubscribers(),
    evidence,
    convergedAfterMs: convergedAt === null ? null : convergedAt - lastFaultAt,
    apiCalls: {
      salesforce: sfUsed,
      partnerCenter: pcUsed,
      perChange: Math.round(((sfUsed + pcUsed) / Math.max(1, changes)) * 100) / 100,
    },
    passed: failures.length === 0,
    failures,
    elapsedMs: Date.now() - began,
  };
}
