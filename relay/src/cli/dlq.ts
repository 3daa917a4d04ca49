import { loadConfig } from '../config.ts';
import type { FailedJob } from '../store/queue.ts';
import { createAdminClient } from './adminClient.ts';
import { jobIdArg, parseArgs } from './args.ts';
import { CliError, UsageError } from './cliErrors.ts';
import { ago, confirm, table } from './output.ts';
import type { Output } from './output.ts';

export const dlqUsage = [
  'dlq list [--json]          dead letters (jobs out of attempts) with their last error',
  'dlq retry <jobId>          put a dead letter back in the queue with fresh attempts',
  'dlq drop <jobId> [--yes]   delete a dead letter for good, recorded in the audit log (asks first)',
];

type Job = Omit<FailedJob, 'runAt' | 'updatedAt'> & { updatedAt: string };

function recordOf(job: Job): string {
  const p = (job.payload ?? {}) as { referralId?: string; opportunityId?: string };
  return p.referralId
    ? `referral ${p.referralId}`
    : p.opportunityId
      ? `Opportunity ${p.opportunityId}`
      : (job.key ?? '-');
}

/** `relay dlq list|retry|drop`: the dashboard's dead-letter panel from a terminal. */
export async function dlqCommand(argv: string[], out: Output): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') {
    const args = parseArgs(rest, { flags: ['json'], positionals: 0 });
    const client = createAdminClient(loadConfig());
    const { jobs } = await client.get<{ jobs: Job[] }>('/api/dead-letters?limit=1000');
    if (args.flags.has('json')) {
      out.line(JSON.stringify(jobs, null, 2));
      return 0;
    }
    if (jobs.length === 0) {
      out.line('No dead letters.');
      return 0;
    }
    out.line(
      table(
        ['Job', 'Task', 'Record', 'Attempts', 'Failed', 'Last error'],
        jobs.map((j) => [
          j.id,
          j.task,
          recordOf(j),
          `${j.attempts}/${j.maxAttempts}`,
          ago(j.updatedAt),
          j.lastError,
        ]),
        90,
      ),
    );
    out.line(
      `\n${jobs.length} dead letter(s). Retry with \`npm run relay -- dlq retry <jobId>\` once the cause is fixed.`,
    );
    return 0;
  }
  if (sub === 'retry' || sub === 'drop') {
    const args = parseArgs(rest, { flags: sub === 'drop' ? ['yes'] : [], positionals: 1 });
    const jobId = jobIdArg(args.positionals[0]);
    const client = createAdminClient(loadConfig());
    if (sub === 'drop' && !args.flags.has('yes')) {
      if (!process.stdin.isTTY)
        throw new UsageError('--yes: required to drop a dead letter when not run from a terminal');
      if (
        !(await confirm(
          `Drop job ${jobId} for good? Its change is not synced unless the record changes again or a reconcile picks it up.`,
        ))
      ) {
        out.line('Not dropped.');
        return 1;
      }
    }
    const { status } =
      sub === 'retry'
        ? await client.send('POST', `/api/dead-letters/${jobId}/retry`)
        : await client.send('DELETE', `/api/dead-letters/${jobId}`);
    if (status === 404)
      throw new CliError(`<jobId>: no dead-lettered job ${jobId} (see \`npm run relay -- dlq list\`)`);
    out.line(
      sub === 'retry'
        ? `Job ${jobId} is back in the queue with fresh attempts.`
        : `Job ${jobId} dropped (recorded in the audit log).`,
    );
    return 0;
  }
  throw new UsageError(
    sub === undefined
      ? 'dlq: missing subcommand (list, retry or drop)'
      : `dlq ${sub}: unknown subcommand (list, retry or drop)`,
  );
}
