import { loadConfig } from '../config.ts';
import { createAdminClient } from './adminClient.ts';
import { parseArgs } from './args.ts';
import type { Output } from './output.ts';

export const reconcileUsage =
  'reconcile [--json]         queue a reconcile now (referrals and Opportunities changed since the last)';

/** `relay reconcile`: the safety net on demand, e.g. after an outage longer than Partner Center's retries. */
export async function reconcileCommand(argv: string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { flags: ['json'], positionals: 0 });
  const client = createAdminClient(loadConfig());
  const { body } = await client.send<{ jobId: string }>('POST', '/api/reconcile');
  if (args.flags.has('json')) {
    out.line(JSON.stringify({ jobId: body.jobId }));
    return 0;
  }
  out.line(
    `Reconcile queued as job ${body.jobId}. Its findings show up in the audit log and the link counts.`,
  );
  return 0;
}
