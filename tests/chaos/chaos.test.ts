/**
 * The fault suite's short fixed-seed variant, inside `npm test`: two relay instances, a few hundred
 * changes on both sides, SIGKILLs at crash points and from outside, two PostgreSQL restarts and the
 * quick faults; then the same verdict as `npm run chaos` (tests/chaos/main.ts). The slow faults (the
 * API-limit outage, the revoked token) are left to the full runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChaos } from './run.ts';
import { formatTable } from './table.ts';

const SEED = 20261202;
const WITHOUT = ['sf-limit-outage', 'token-revoked'] as const;

test(`the fault suite, seed ${SEED}: nothing lost, duplicated or stale`, { timeout: 900_000 }, async () => {
  const lines: string[] = [];
  const result = await runChaos({
    seed: SEED,
    changes: 200,
    kills: 4,
    latencyMs: 10,
    convergeTimeoutMs: 90_000,
    without: new Set(WITHOUT),
    log: (line) => lines.push(line),
  });
  const table = formatTable(
    result,
    `npm run chaos -- --seed=${SEED} --changes=200 --kills=4 --latency=10 --without=${WITHOUT.join(',')}`,
  );
  const why = [
    table,
    ...result.comparison.findings.slice(0, 10).map((f) => `pair ${f.pair}: ${f.kind}: ${f.detail}`),
    ...result.evidence,
    ...lines.slice(-30),
  ].join('\n');
  assert.equal(result.comparison.count('missing'), 0, why);
  assert.equal(result.comparison.count('duplicate'), 0, why);
  assert.equal(result.comparison.count('lost'), 0, why);
  assert.equal(result.comparison.count('stale'), 0, why);
  assert.deepEqual(result.deadLetters, [], why);
  assert.deepEqual(result.otherExits, [], why);
  assert.ok(result.maxSubscribers <= 1, why);
  assert.notEqual(result.convergedAfterMs, null, why);
  assert.ok(result.kills.external + result.kills.crashPoints >= 4, why);
  assert.equal(result.passed, true, why);
});
