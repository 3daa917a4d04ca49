/**
 * The whole run as data, from the seed alone: the workload's operations and, between them, the
 * faults. Nothing here looks at the running system, so a seed always names the same schedule
 * (timing still varies: where exactly a crash point or a storm lands depends on the relay).
 */
import { CRASH_POINTS } from '../../relay/src/crashPoint.ts';
import { seededRandom } from './random.ts';
import type { InstanceName } from './system.ts';
import type { Operation } from './workload.ts';

export type Fault =
  | { kind: 'kill'; instance: InstanceName; crashPoint?: string }
  | { kind: 'postgres-restart' }
  | { kind: 'pc-throttle-storm'; calls: number }
  | { kind: 'pc-unavailable-storm'; calls: number }
  | { kind: 'webhooks-lost'; deliveries: number }
  | { kind: 'sf-row-locks'; writes: number }
  | { kind: 'sf-limit-outage'; seconds: number }
  | { kind: 'pubsub-stream-drop'; afterEvents: number }
  | { kind: 'pubsub-replay-expired' }
  | { kind: 'token-revoked'; seconds: number }
  | { kind: 'clock-skew'; offsetMs: number }
  | { kind: 'certificate-rotated' }
  | { kind: 'reconcile' }
  | { kind: 'backfill'; instance: InstanceName };

export type Step = { op: Operation } | { fault: Fault };

export interface ScheduleOptions {
  seed: number;
  changes: number;
  kills: number;
  /** Fault kinds to leave out (development, or kinds the short variant cannot afford). */
  without?: ReadonlySet<Fault['kind']>;
}

export interface Schedule {
  steps: Step[];
  /** Changes the operations make if none is skipped. */
  plannedChanges: number;
}

const BULK_SIZE = 200;

export function buildSchedule(options: ScheduleOptions): Schedule {
  const random = seededRandom(options.seed);
  const ops: Operation[] = [];
  const syncOn: boolean[] = [];
  let changes = 0;
  // The first records exist before anything edits them.
  const creates = Math.max(4, Math.min(60, Math.round(options.changes / 40)));
  for (let i = 0; i < creates; i++) {
    const fromPartnerCenter = i % 2 === 0;
    ops.push(fromPartnerCenter ? { kind: 'pc-create' } : { kind: 'sf-create', coSell: random.chance(0.3) });
    syncOn.push(true);
    changes++;
  }
  const bulkEvery = Math.max(BULK_SIZE * 2, Math.round(options.changes / 8));
  let sinceBulk = 0;
  while (changes < options.changes) {
    const roll = random.next();
    const pair = random.int(0, syncOn.length - 1);
    if (sinceBulk >= bulkEvery && syncOn.length >= 10) {
      const size = Math.min(BULK_SIZE, syncOn.length, options.changes - changes);
      const pairs = random.sample(
        syncOn.map((_, i) => i),
        size,
      );
      ops.push({ kind: 'sf-bulk', pairs });
      changes += pairs.length;
      sinceBulk = 0;
      continue;
    }
    let op: Operation;
    if (roll < 0.08) {
      op = { kind: 'pc-create' };
      syncOn.push(true);
    } else if (roll < 0.14) {
      op = { kind: 'sf-create', coSell: random.chance(0.3) };
      syncOn.push(true);
    } else if (roll < 0.5) {
      if (!syncOn[pair]) continue;
      op = { kind: 'pc-update', pair };
    } else if (roll < 0.92) {
      op = { kind: 'sf-update', pair };
    } else {
      op = { kind: syncOn[pair] ? 'sync-off' : 'sync-on', pair };
      syncOn[pair] = !syncOn[pair];
    }
    ops.push(op);
    changes++;
    sinceBulk++;
  }

  // Faults land between operations, away from the first records and the very end.
  const faults: Array<{ at: number; fault: Fault }> = [];
  const at = () => random.int(Math.floor(ops.length * 0.05) + 1, Math.max(2, Math.floor(ops.length * 0.9)));
  const without = options.without ?? new Set();
  const add = (fault: Fault, position = at()) => {
    if (!without.has(fault.kind)) faults.push({ at: position, fault });
  };
  const points = random.sample(CRASH_POINTS, CRASH_POINTS.length);
  for (let k = 0; k < options.kills; k++) {
    const instance: InstanceName = random.chance(0.5) ? 'A' : 'B';
    // Every crash point once, then a mix of crash points and plain kills at whatever the process is doing.
    const point = k < points.length ? points[k] : random.chance(0.5) ? random.pick(CRASH_POINTS) : undefined;
    const position = at();
    if (!point) {
      add({ kind: 'kill', instance }, position);
      continue;
    }
    const ordinal = point === 'sf-write:after' || point === 'pubsub-batch:commit' ? random.int(1, 5) : 1;
    add({ kind: 'kill', instance, crashPoint: `${point}#${ordinal}` }, position);
    // Reconcile and backfill only run when asked; ask right after the armed instance is back.
    if (point === 'reconcile:enqueued') add({ kind: 'reconcile' }, position);
    if (point === 'backfill:enqueued') add({ kind: 'backfill', instance }, position);
  }
  add({ kind: 'postgres-restart' });
  add({ kind: 'postgres-restart' });
  for (let i = 0; i < 2; i++) {
    add({ kind: 'pc-throttle-storm', calls: random.int(20, 60) });
    add({ kind: 'pc-unavailable-storm', calls: random.int(10, 40) });
    add({ kind: 'webhooks-lost', deliveries: random.int(3, 15) });
    add({ kind: 'sf-row-locks', writes: random.int(5, 30) });
    add({ kind: 'pubsub-stream-drop', afterEvents: random.int(0, 3) });
    add({ kind: 'reconcile' });
  }
  add({ kind: 'sf-limit-outage', seconds: random.int(15, 30) });
  add({ kind: 'pubsub-replay-expired' });
  add({ kind: 'token-revoked', seconds: random.int(10, 20) });
  // Partner Center's clock runs 2 minutes behind the relay's from the start (run.ts) and is
  // stepped to 2 minutes ahead here, for the rest of the run. Only forward: a service's clock that
  // stepped back minutes would date new versions of a record before old ones, which no version
  // check on that service's timestamps (and no real Partner Center) survives.
  if (!without.has('clock-skew')) add({ kind: 'clock-skew', offsetMs: 120_000 });
  add({ kind: 'certificate-rotated' });
  add({ kind: 'backfill', instance: random.chance(0.5) ? 'A' : 'B' });

  // Stable order: by position, then in the order they were drawn.
  faults.sort((a, b) => a.at - b.at);
  const steps: Step[] = [];
  let next = 0;
  ops.forEach((op, i) => {
    while (next < faults.length && faults[next].at === i) steps.push({ fault: faults[next++].fault });
    steps.push({ op });
  });
  while (next < faults.length) steps.push({ fault: faults[next++].fault });
  return { steps, plannedChanges: changes };
}

/** Short text naming a step, for the log and the reproduction line. */
export function describeFault(fault: Fault): string {
  const { kind, ...rest } = fault;
  const args = Object.entries(rest)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return args ? `${kind} ${args}` : kind;
}
