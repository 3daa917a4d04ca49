import { loadConfig } from '../config.ts';
import { createAdminClient } from './adminClient.ts';
import { parseArgs } from './args.ts';
import type { Output } from './output.ts';

export const reconcileUsage =
  'reconcile                  queue a reconcile now (referrals and Opportunities changed since the last)';

/** `relay reconcile`: the safety net on demand, e.g. after an outage longer than Partner Center's retries. */
export async function reconcileCommand(argv: string[], out: Output): Promise<number> {
  parseArgs(argv, { positionals: 0 });
  const client = createAdminClient(loadConfig());
  const { body } = await client.send<{ jobId: string }>('POST', '/api/reconcile');
  out.line(
    `Reconcile queued as job ${body.jobId}. Its findings show up in the audit log and the link counts.`,
  );
  return 0;
}
