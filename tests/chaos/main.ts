/**
 * `npm run chaos` — the fault suite. Options: --seed=N (default: a random seed, printed),
 * --changes=5000, --kills=20, --latency=20 (ms on every sandbox API answer),
 * --converge-timeout=240 (seconds), --without=kind,kind (leave fault kinds out while developing). Exits 1 on any loss, duplicate, stale field, dead letter,
 * second subscriber or a run that did not converge; the same seed replays the same schedule.
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { runChaos } from './run.ts';
import { formatTable } from './table.ts';
import type { Fault } from './schedule.ts';

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name}: expected a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      changes: { type: 'string' },
      kills: { type: 'string' },
      latency: { type: 'string' },
      'converge-timeout': { type: 'string' },
      without: { type: 'string' },
    },
    strict: true,
  });
  const seed = positive('seed', values.seed, randomInt(1, 2 ** 31));
  const changes = positive('changes', values.changes, 5000);
  const kills = positive('kills', values.kills, 20);
  const latencyMs = positive('latency', values.latency, 20);
  const convergeTimeoutMs = positive('converge-timeout', values['converge-timeout'], 240) * 1000;
  const without = new Set((values.without ?? '').split(',').filter(Boolean) as Array<Fault['kind']>);
  const command = `npm run chaos -- --seed=${seed} --changes=${changes} --kills=${kills}${values.latency ? ` --latency=${latencyMs}` : ''}${values.without ? ` --without=${values.without}` : ''}`;
  process.stderr.write(`[chaos] seed ${seed} (replay: ${command})\n`);
  const result = await runChaos({ seed, changes, kills, latencyMs, convergeTimeoutMs, without });
  console.log(formatTable(result, command));
  const shown = result.comparison.findings.slice(0, 20);
  for (const f of shown) console.log(`  pair ${f.pair}: ${f.kind}: ${f.detail}`);
  for (const e of result.evidence) console.log(e);
  for (const d of result.deadLetters.slice(0, 10))
    console.log(
      `  dead letter ${d.id} ${d.task} ${d.key} after ${d.attempts} attempts ${JSON.stringify(d.payload)}: ${d.lastError}`,
    );
  for (const e of result.otherExits.slice(0, 5))
    console.log(`  instance ${e.instance} exited by itself (${e.detail}); last output:\n${e.tail}`);
  process.exit(result.passed ? 0 : 1);
}

void main();
