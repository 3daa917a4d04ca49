/** The figures of one run as the table `npm run chaos` prints and the README quotes. */
import type { ChaosResult } from './run.ts';

export function formatTable(result: ChaosResult, command: string): string {
  const c = result.comparison;
  const faults = Object.entries(result.faults)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${kind} ${n}`);
  const rows: Array<[string, string]> = [
    ['seed', String(result.seed)],
    ['changes made', `${result.changes} (${result.pairs} record pairs)`],
    [
      'kills (SIGKILL)',
      `${result.kills.external + result.kills.crashPoints}: ${result.kills.external} from outside, ${result.kills.crashPoints} at crash points (${result.kills.crashPointsArmed} armed)`,
    ],
    ['relay restarts', String(result.restarts)],
    ['exits by themselves', String(result.otherExits.length)],
    ['faults injected', faults.join(', ')],
    ['Opportunities expected / present', `${c.opportunitiesExpected} / ${c.opportunitiesPresent}`],
    ['referrals expected / present', `${c.referralsExpected} / ${c.referralsPresent}`],
    ['missing', String(c.count('missing'))],
    ['duplicates', String(c.count('duplicate'))],
    ['lost changes', String(c.count('lost'))],
    ['stale fields', String(c.count('stale'))],
    ['dead letters left', `${result.deadLetters.length} (0 injected as permanent)`],
    ['most Pub/Sub subscribers at once', String(result.maxSubscribers)],
    [
      'time to converge after the last fault',
      result.convergedAfterMs === null
        ? 'did not converge'
        : `${(result.convergedAfterMs / 1000).toFixed(1)} s`,
    ],
    [
      'relay API calls per change',
      `${result.apiCalls.perChange} (Salesforce ${result.apiCalls.salesforce}, Partner Center ${result.apiCalls.partnerCenter})`,
    ],
    ['run time', `${Math.round(result.elapsedMs / 1000)} s`],
    ['verdict', result.passed ? 'PASS' : `FAIL: ${result.failures.join('; ')}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return ['', `$ ${command}`, '', ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), ''].join('\n');
}
