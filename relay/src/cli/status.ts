import { loadConfig } from '../config.ts';
import type { Check } from '../operations.ts';
import { createAdminClient } from './adminClient.ts';
import { parseArgs } from './args.ts';
import { ago, table } from './output.ts';
import type { Output } from './output.ts';

export const statusUsage =
  'status [--json]            readiness, each check, queue and link counts (exit 1 when not ready)';

const mark = (check: Check, warn = false) => (warn ? 'WARN' : check.ok ? 'ok' : 'FAIL');

/** `relay status`: what the dashboard's top half shows, as text. Exit 1 when the relay is not ready. */
export async function statusCommand(argv: string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { flags: ['json'], positionals: 0 });
  const client = createAdminClient(loadConfig());
  const s = await client.status();
  if (args.flags.has('json')) {
    out.line(JSON.stringify(s, null, 2));
    return s.ready ? 0 : 1;
  }
  const c = s.checks;
  const token = c.partnerCenterToken;
  const sub = c.subscriber;
  out.line(
    `Relay ${client.baseUrl}: ${s.ready ? 'READY' : 'NOT READY'}${s.draining ? ' (shutting down)' : ''}  (${s.mode} mode, v${s.version}, up since ${ago(s.startedAt)})`,
  );
  out.line();
  out.line(
    table(
      ['Check', 'State', 'Detail'],
      [
        ['Database', mark(c.database), c.database.detail],
        ['Workers', mark(c.workers), c.workers.detail],
        [
          'Partner Center sign-in',
          mark(token, token.status === 'expiring'),
          [
            token.status,
            token.account,
            token.expiresOn ? `token expires ${ago(token.expiresOn)}` : null,
            token.detail,
          ]
            .filter(Boolean)
            .join('; '),
        ],
        ['Salesforce', mark(c.salesforce), c.salesforce.detail],
        [
          'Pub/Sub subscriber',
          mark(sub),
          [
            sub.role,
            sub.role === 'leader' ? (sub.connected ? 'connected' : 'disconnected') : null,
            `lag ${sub.lagMs === null ? '-' : `${sub.lagMs} ms`}`,
            `${sub.reconnects} reconnects`,
            `${sub.received} events`,
            sub.detail,
          ]
            .filter(Boolean)
            .join('; '),
        ],
      ],
      120,
    ),
  );
  if (token.status !== 'ok')
    out.line(`\n!! Partner Center sign-in is ${token.status}: run \`npm run relay -- login\`.`);
  out.line();
  const usage = s.salesforce.apiUsage;
  out.line(
    table(
      ['Area', 'Counts'],
      [
        [
          'Queue',
          `queued ${s.jobs.queued}, running ${s.jobs.running}, retrying ${s.jobs.retrying}, failed ${s.jobs.failed}`,
        ],
        ['Links', `Synced ${s.links.Synced}, Pending ${s.links.Pending}, Error ${s.links.Error}`],
        [
          'Webhooks',
          `accepted ${s.webhooks.accepted}, duplicates ${s.webhooks.duplicates}, ignored ${s.webhooks.ignored}, rejected ${s.webhooks.rejected}`,
        ],
        [
          'Salesforce API',
          `${s.salesforce.apiCalls} calls by this relay${usage ? `; org usage ${usage.used}/${usage.limit}` : ''}`,
        ],
        ['Last reconcile', ago(s.lastReconcileAt)],
      ],
      120,
    ),
  );
  if (s.jobs.failed > 0) out.line(`\n${s.jobs.failed} dead letter(s): see \`npm run relay -- dlq list\`.`);
  return s.ready ? 0 : 1;
}
