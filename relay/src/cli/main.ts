/**
 * `relay`: the operator's command line (`npm run relay -- <command>`). One file per command.
 * Exit codes: 0 the command did what it says, 1 it did not (the message names the option or
 * setting at fault), 2 usage error. Secrets (ADMIN_TOKEN, client secrets, tokens) are never printed.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, describeError } from '../errors.ts';
import { backfillCommand, backfillUsage } from './backfill.ts';
import { CliError, UsageError } from './cliErrors.ts';
import { dlqCommand, dlqUsage } from './dlq.ts';
import { doctorCommand, doctorUsage } from './doctor.ts';
import { loginCommand, loginUsage } from './login.ts';
import { mappingCommand, mappingUsage } from './mapping.ts';
import { migrateCommand, migrateUsage } from './migrate.ts';
import { consoleOutput } from './output.ts';
import type { Output } from './output.ts';
import { reconcileCommand, reconcileUsage } from './reconcile.ts';
import { statusCommand, statusUsage } from './status.ts';
import { syncCommand, syncUsage } from './sync.ts';
import { webhooksCommand, webhooksUsage } from './webhooks.ts';

interface Command {
  run(argv: string[], out: Output): Promise<number>;
  usage: string[];
  /** What the command needs, shown under its usage. */
  needs: string;
}

const AGAINST_RELAY = 'Talks to a running relay: RELAY_URL (default http://localhost:$PORT) and ADMIN_TOKEN.';
const OWN_SETTINGS =
  "Uses the relay's own settings (COSELL_MODE=production: ENTRA_*, DATABASE_URL, TOKEN_CACHE_KEY, PUBLIC_URL, SF_*). In sandbox mode it rehearses against the simulators of a running `npm start`.";

const COMMANDS: Record<string, Command> = {
  status: { run: statusCommand, usage: [statusUsage], needs: AGAINST_RELAY },
  dlq: { run: dlqCommand, usage: dlqUsage, needs: AGAINST_RELAY },
  reconcile: { run: reconcileCommand, usage: [reconcileUsage], needs: AGAINST_RELAY },
  backfill: { run: backfillCommand, usage: [backfillUsage], needs: AGAINST_RELAY },
  sync: { run: syncCommand, usage: [syncUsage], needs: AGAINST_RELAY },
  mapping: { run: mappingCommand, usage: [mappingUsage], needs: AGAINST_RELAY },
  login: { run: loginCommand, usage: [loginUsage], needs: OWN_SETTINGS },
  webhooks: { run: webhooksCommand, usage: webhooksUsage, needs: OWN_SETTINGS },
  doctor: { run: doctorCommand, usage: [doctorUsage], needs: OWN_SETTINGS },
  migrate: {
    run: migrateCommand,
    usage: [migrateUsage],
    needs: 'Uses DATABASE_URL (the relay also migrates at every start).',
  },
};

export const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const lines = (names: string[]) =>
  names.flatMap((name) => COMMANDS[name].usage.map((line) => `  ${line}`)).join('\n');

export const USAGE = `Usage: npm run relay -- <command> [options]    (relay <command> --help for one command)

Against a running relay (RELAY_URL, default http://localhost:$PORT; ADMIN_TOKEN):
${lines(['status', 'dlq', 'reconcile', 'backfill', 'sync', 'mapping'])}

With the relay's own settings (sandbox mode: against the simulators of a running \`npm start\`):
${lines(['login', 'webhooks', 'doctor', 'migrate'])}

  --help, -h    help for a command        --version    the relay's version
Exit codes: 0 done, 1 not done (the message says why), 2 usage error.`;

function commandHelp(name: string): string {
  const command = COMMANDS[name];
  return `Usage: npm run relay -- ${command.usage.join('\n       npm run relay -- ')}\n\n${command.needs}\nExit codes: 0 done, 1 not done (the message says why), 2 usage error.`;
}

const wantsHelp = (argv: string[]) => {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
};

export async function runCli(argv: string[], out: Output = consoleOutput): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    out.line(`relay ${VERSION}`);
    return 0;
  }
  if (name === undefined) {
    out.error(USAGE);
    return 2;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0];
    if (topic && COMMANDS[topic]) out.line(commandHelp(topic));
    else out.line(USAGE);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    out.error(`relay: ${name}: unknown command. Run \`npm run relay -- --help\` for the list.`);
    return 2;
  }
  if (wantsHelp(rest)) {
    out.line(commandHelp(name));
    return 0;
  }
  try {
    return await command.run(rest, out);
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(`relay ${name}: ${error.message} (see \`npm run relay -- ${name} --help\`)`);
      return 2;
    }
    if (error instanceof CliError || error instanceof ConfigError)
      out.error(`relay ${name}: ${error.message}`);
    else out.error(`relay ${name}: ${describeError(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  // A command that never finishes (say, waiting on a closed stdin) ends when nothing is left to
  // wait for: that must not look like success.
  process.exitCode = 1;
  // Exit explicitly: a command may leave sockets (MSAL's agent, pg) that would hold the process open.
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(describeError(error));
      process.exit(1);
    },
  );
}
