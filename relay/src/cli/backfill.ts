import { loadConfig } from '../config.ts';
import { createAdminClient } from './adminClient.ts';
import { parseArgs } from './args.ts';
import { CliError } from './cliErrors.ts';
import { bar } from './output.ts';
import type { Output } from './output.ts';

export const backfillUsage =
  'backfill [--no-wait] [--json]   enqueue every Partner Center referral, then show progress until synced';

const POLL_MS = 250;

/** Redraws one line in place on a terminal; elsewhere (logs, CI) prints each new state at most once a second. */
function progressLine(out: Output) {
  let last = '';
  let lastPrinted = 0;
  return {
    update(text: string, final = false) {
      if (text === last && !final) return;
      last = text;
      if (out.tty) {
        out.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
      } else if (final || Date.now() - lastPrinted >= 1000) {
        lastPrinted = Date.now();
        out.line(text);
      }
    },
  };
}

/**
 * `relay backfill`: asks the relay to enqueue a sync for every referral Partner Center lists
 * (streamed as NDJSON while it pages through them), then follows the queue until those jobs have
 * run. The second phase counts the queue as a whole (queued + running + retrying), so other work
 * arriving meanwhile can make it finish later, never earlier.
 */
export async function backfillCommand(argv: string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { flags: ['no-wait', 'json'], positionals: 0 });
  const json = args.flags.has('json');
  // --json: no progress lines, one JSON summary at the end.
  const progressOut: Output = json
    ? { ...out, tty: false, line: () => undefined, write: () => undefined }
    : out;
  const summary = (result: Record<string, number>) => out.line(JSON.stringify(result));
  const client = createAdminClient(loadConfig());
  const failedBefore = (await client.status()).jobs.failed;

  const listing = progressLine(progressOut);
  listing.update('Listing referrals in Partner Center… 0 enqueued');
  let total = 0;
  let finished = false;
  for await (const line of client.stream('/api/backfill?stream=1')) {
    if (typeof line.enqueued === 'number')
      listing.update(`Listing referrals in Partner Center… ${line.enqueued} enqueued`);
    if (line.error) {
      const error = line.error as { code?: string; message?: string };
      throw new CliError(
        `Backfill stopped after listing part of Partner Center: ${error.message ?? error.code}. Referrals already enqueued will sync; run it again to finish.`,
      );
    }
    if (line.done) {
      total = Number(line.referrals);
      finished = true;
    }
  }
  if (!finished) throw new CliError('The relay ended the backfill stream early (restarted?); run it again.');
  listing.update(`Listed ${total} referral(s) in Partner Center; all enqueued.`, true);
  if (args.flags.has('no-wait') || total === 0) {
    if (json) summary({ referrals: total, enqueued: total });
    return 0;
  }

  const syncing = progressLine(progressOut);
  for (;;) {
    const { jobs } = await client.status();
    const remaining = Math.min(total, jobs.queued + jobs.running + jobs.retrying);
    const done = total - remaining;
    const failed = Math.max(0, jobs.failed - failedBefore);
    const text = `Syncing ${bar(done, total)} ${done}/${total}${failed > 0 ? `  (${failed} failed)` : ''}`;
    if (remaining === 0) {
      syncing.update(text, true);
      if (json) summary({ referrals: total, synced: total - failed, failed });
      if (failed > 0) {
        if (!json) out.line(`${failed} job(s) ran out of attempts: see \`npm run relay -- dlq list\`.`);
        return 1;
      }
      if (!json) out.line(`Backfill done: ${total} referral(s) synced.`);
      return 0;
    }
    syncing.update(text);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
