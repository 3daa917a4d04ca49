/**
 * Version guards. With syncs of one record serialised (recordJob.ts), a job still must not write a
 * state older than one already synced: a stale read, a redelivered event, or the other direction's
 * job having moved the pair on meanwhile. Versions are the services' own clocks: the referral's
 * updatedDateTime, the deal's record version (its `version` field) or its change event's time. eTags are opaque
 * (no order), so they are not compared.
 */

/** Epoch ms of a version given as a Date, an ISO or Salesforce date-time string, or epoch ms. */
export function versionTime(value: unknown): number | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value !== '') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? null : parsed;
  }
  return null;
}

/**
 * Partner Center writes updatedDateTime to 100 ns, PostgreSQL keeps microseconds (rounding) and a
 * JavaScript Date milliseconds (truncating): one version read back from the link can come out up
 * to 1 ms later than the same version parsed from Partner Center. Only an older version by more
 * than that counts, so a version is never refused as older than itself.
 */
export const VERSION_SLACK_MS = 1;

/** True only when both versions are known and `candidate` is older than `lastSynced`. */
export function isOlderThan(candidate: unknown, lastSynced: unknown): boolean {
  const a = versionTime(candidate);
  const b = versionTime(lastSynced);
  return a !== null && b !== null && a + VERSION_SLACK_MS < b;
}
