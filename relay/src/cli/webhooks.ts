import { entraAuthFromSettings } from '../partner-center/entraAuth.ts';
import { HANDLED_EVENTS } from '../partner-center/webhookEvent.ts';
import { createWebhookRegistrationClient } from '../partner-center/webhookRegistrationClient.ts';
import type {
  WebhookRegistration,
  WebhookRegistrationClient,
} from '../partner-center/webhookRegistrationClient.ts';
import { parseArgs } from './args.ts';
import { CliError, UsageError } from './cliErrors.ts';
import { confirm, table } from './output.ts';
import type { Output } from './output.ts';
import { cliLogger, commandSettings } from './productionSettings.ts';

export const webhooksUsage = [
  "webhooks list [--json]     the tenant's Partner Center webhook registration (alias: show)",
  "webhooks register [--yes] [--json]   point the tenant's webhook at PUBLIC_URL/webhooks/partner-center (replaces the current one)",
  'webhooks test [--timeout <seconds>] [--json]   send a test event and show each delivery attempt',
];

// The four referral events the relay syncs, plus Partner Center's test event: `webhooks test` can
// only send one when the registration includes it (the relay answers it 200 and ignores it).
const EVENTS = [...HANDLED_EVENTS, 'test-created'];

function client(): {
  webhooks: WebhookRegistrationClient;
  publicUrl: string | undefined;
  signatureInMsHeader: boolean;
  sandbox: boolean;
} {
  const { config, settings, publicUrl, sandbox } = commandSettings();
  const pc = settings.partnerCenter;
  const logger = cliLogger(config);
  // App-only tokens (client credentials) are cheap to get again: keep them in memory, not in the shared cache.
  let cache: string | null = null;
  const auth = entraAuthFromSettings(
    pc,
    { load: async () => cache, save: async (s) => void (cache = s) },
    logger,
  );
  return {
    webhooks: createWebhookRegistrationClient({
      baseUrl: pc.webhookApiBaseUrl,
      getToken: () => auth.getAppToken(),
      logger,
    }),
    publicUrl,
    signatureInMsHeader: config.PC_WEBHOOK_SIGNATURE_IN_MS_HEADER,
    sandbox,
  };
}

function describe(out: Output, registration: WebhookRegistration | null): void {
  if (!registration) {
    out.line(
      'No webhook is registered for this tenant: Partner Center sends no events (only the reconciler finds changes).',
    );
    return;
  }
  out.line(`Webhook URL:   ${registration.webhookUrl}`);
  out.line(`Events:        ${registration.webhookEvents.join(', ') || '-'}`);
  out.line(
    `Signature in:  ${registration.signatureTokenToMsSignatureHeader ? 'x-ms-signature header' : 'Authorization header'}`,
  );
  if (registration.lastModifiedTimestamp) out.line(`Last modified: ${registration.lastModifiedTimestamp}`);
}

/** `relay webhooks list|register|test`: the tenant's one webhook registration (contract §3.1). */
export async function webhooksCommand(argv: string[], out: Output): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list' || sub === 'show') {
    const args = parseArgs(rest, { flags: ['json'], positionals: 0 });
    const { webhooks, sandbox } = client();
    const registration = await webhooks.get();
    if (args.flags.has('json')) out.line(JSON.stringify({ registration }, null, 2));
    else {
      if (sandbox) out.line('(sandbox: the Partner Center simulator of the running `npm start`)');
      describe(out, registration);
    }
    return 0;
  }
  if (sub === 'register') {
    const args = parseArgs(rest, { flags: ['yes', 'json'], positionals: 0 });
    const json = args.flags.has('json');
    const { webhooks, publicUrl, signatureInMsHeader, sandbox } = client();
    if (!publicUrl)
      throw new CliError("PUBLIC_URL: required to register the webhook (the relay's public https address)");
    const url = `${publicUrl.replace(/\/$/, '')}/webhooks/partner-center`;
    const current = await webhooks.get();
    // The warning goes to stderr with --json, so stdout stays one JSON document.
    const say = json ? (text: string) => out.error(text) : (text: string) => out.line(text);
    if (sandbox) say('(sandbox: the Partner Center simulator of the running `npm start`)');
    say('WARNING: Partner Center keeps ONE webhook URL per tenant. Registering replaces the current one,');
    say(
      '         and whatever receives events there today (another relay, a Microsoft connector) stops getting them.',
    );
    say(`Current: ${current ? current.webhookUrl : '(none)'}`);
    say(`New:     ${url}`);
    say(`Events:  ${EVENTS.join(', ')}`);
    if (current?.webhookUrl !== url && !args.flags.has('yes')) {
      if (!process.stdin.isTTY)
        throw new UsageError(
          '--yes: required to replace the webhook registration when not run from a terminal',
        );
      if (!(await confirm('Replace it?'))) {
        say('Not registered.');
        return 1;
      }
    }
    const { registration, replaced } = await webhooks.register({ url, events: EVENTS, signatureInMsHeader });
    if (json) {
      out.line(JSON.stringify({ registration, replaced: replaced ?? null }, null, 2));
      return 0;
    }
    out.line(
      replaced && replaced !== url
        ? `Registered. Replaced the previous webhook URL ${replaced}.`
        : 'Registered.',
    );
    describe(out, registration);
    out.line('Check delivery with `npm run relay -- webhooks test`.');
    return 0;
  }
  if (sub === 'test') {
    const args = parseArgs(rest, { flags: ['json'], options: ['timeout'], positionals: 0 });
    const json = args.flags.has('json');
    const timeoutMs = Number(args.options.get('timeout') ?? 60) * 1000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new UsageError('--timeout: must be a number of seconds');
    const { webhooks } = client();
    const registration = await webhooks.get();
    if (!registration)
      throw new CliError('No webhook is registered: run `npm run relay -- webhooks register` first.');
    if (!registration.webhookEvents.includes('test-created')) {
      throw new CliError(
        `The registration (${registration.webhookUrl}) does not include the test-created event; run \`npm run relay -- webhooks register\` to add it.`,
      );
    }
    const correlationId = await webhooks.sendTestEvent();
    if (!json)
      out.line(
        `Test event sent (correlation id ${correlationId}); waiting for Partner Center's delivery results…`,
      );
    const deadline = Date.now() + timeoutMs;
    let event = await webhooks.getValidationEvent(correlationId);
    while (event.status !== 'completed' && event.status !== 'failed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      event = await webhooks.getValidationEvent(correlationId);
    }
    const delivered = event.results.some((r) => r.responseCode === 'OK' || r.responseCode === '200');
    if (json) {
      out.line(JSON.stringify({ ...event, correlationId, delivered }, null, 2));
      return delivered ? 0 : 1;
    }
    out.line(
      `Status: ${event.status ?? 'unknown'}${event.callbackUrl ? ` (delivered to ${event.callbackUrl})` : ''}`,
    );
    if (event.results.length > 0) {
      out.line(
        table(
          ['Attempt', 'Time (UTC)', 'Response', 'Message'],
          event.results.map((r, i) => [
            i + 1,
            r.dateTimeUtc,
            r.systemError ? 'no response' : r.responseCode,
            r.responseMessage,
          ]),
          80,
        ),
      );
    } else out.line('No delivery attempts reported yet.');
    if (!delivered)
      out.line(
        "The relay did not acknowledge the test event: check PUBLIC_URL, the relay's logs and `webhooks list`.",
      );
    return delivered ? 0 : 1;
  }
  throw new UsageError(
    sub === undefined
      ? 'webhooks: missing subcommand (list, register or test)'
      : `webhooks ${sub}: unknown subcommand (list, register or test)`,
  );
}
