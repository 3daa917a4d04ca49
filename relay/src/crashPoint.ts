/**
 * Test-only crash points for the fault suite (`npm run chaos`). A SIGKILL sent from outside lands
 * wherever the process happens to be; the windows that matter most for at-least-once delivery
 * (a write done on one side, its record not yet saved on ours) last milliseconds, so the suite
 * names one of them in COSELL_CRASH_POINT and the relay kills itself right there.
 *
 * Format: `<point>` (the first time the point is reached) or `<point>#<n>` (the n-th time). Unset,
 * which is always the case outside the fault suite, every call is a no-op.
 */

export const CRASH_POINTS = [
  /** An Opportunity written to Salesforce by an inbound sync, the link not yet saved. */
  'sf-write:after',
  /** A referral POSTed to Partner Center by an outbound sync, the link not yet saved. */
  'pc-post:after',
  /** Inside the Pub/Sub batch transaction: the jobs inserted, the replay id not yet saved. */
  'pubsub-batch:commit',
  /** A reconcile half way: some referral syncs enqueued, the watermark not yet moved. */
  'reconcile:enqueued',
  /** A backfill half way: some referral syncs enqueued. */
  'backfill:enqueued',
] as const;
export type CrashPointName = (typeof CRASH_POINTS)[number];

export const CRASH_POINT_PATTERN = new RegExp(`^(${CRASH_POINTS.join('|')})(#[1-9][0-9]{0,5})?$`);

interface Armed {
  point: CrashPointName;
  ordinal: number;
  reached: number;
}

let armed: Armed | null = null;

/** Arms the point named by the COSELL_CRASH_POINT setting (validated by config.ts); undefined disarms. */
export function armCrashPoint(setting: string | undefined): void {
  if (!setting) {
    armed = null;
    return;
  }
  const match = CRASH_POINT_PATTERN.exec(setting);
  if (!match) throw new RangeError(`COSELL_CRASH_POINT: unknown crash point ${JSON.stringify(setting)}`);
  armed = {
    point: match[1] as CrashPointName,
    ordinal: match[2] ? Number(match[2].slice(1)) : 1,
    reached: 0,
  };
}

/** Dies with SIGKILL, exactly as an external kill would, when this is the armed point's n-th pass. */
export function crashPoint(point: CrashPointName): void {
  if (armed === null || armed.point !== point) return;
  armed.reached += 1;
  if (armed.reached === armed.ordinal) process.kill(process.pid, 'SIGKILL');
}
