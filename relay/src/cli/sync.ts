import { loadConfig } from '../config.ts';
import type { SyncNowResult } from '../syncNow.ts';
import { createAdminClient } from './adminClient.ts';
import { parseArgs } from './args.ts';
import { CliError, UsageError } from './cliErrors.ts';
import type { Output } from './output.ts';

export const syncUsage =
  'sync <referralId|opportunityId> [--wait <s>] [--json]   sync one pair now and print what happened';

/**
 * `relay sync <id>`: the panel's Sync now from the command line. The relay queues the pair's
 * outbound and inbound jobs past the "nothing changed" shortcuts; this prints the jobs' audit lines
 * and the pair's status once they finished (exit 0 when Synced), or that they are still running.
 */
export async function syncCommand(argv: string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { flags: ['json'], options: ['wait'], positionals: 1 });
  const id = args.positionals[0];
  if (!id) throw new UsageError('<referralId|opportunityId>: missing');
  const wait = args.options.get('wait') ?? '30';
  if (!/^\d+$/.test(wait) || Number(wait) > 120)
    throw new UsageError(`--wait: must be whole seconds from 0 to 120, got ${JSON.stringify(wait)}`);
  const client = createAdminClient(loadConfig());
  const { status, body } = await client.send<SyncNowResult & { error?: { message: string } }>(
    'POST',
    `/api/sync/${encodeURIComponent(id)}?wait=${wait}`,
  );
  if (status === 404) throw new CliError(body.error?.message ?? `${id}: not found`);
  if (args.flags.has('json')) {
    out.line(JSON.stringify(body));
    return body.done && body.status !== 'Error' ? 0 : 1;
  }
  out.line(`Referral ${body.referralId ?? '-'} ↔ Opportunity ${body.opportunityId ?? '-'}`);
  for (const event of body.audit)
    out.line(
      `  ${new Date(event.at).toISOString()}  ${event.direction.padEnd(8)} ${event.level.padEnd(5)} ${event.message}`,
    );
  if (!body.done) {
    out.line(
      `Still running after ${wait} s (${body.queued.join(' and ')} queued); see \`relay status\` and the audit log.`,
    );
    return 1;
  }
  out.line(`Status: ${body.status ?? 'not linked'}${body.lastError ? ` (${body.lastError})` : ''}`);
  return body.status === 'Error' ? 1 : 0;
}
