/**
 * `relay`: the operator's command line (`npm run relay -- <command>`). One file per command.
 * Exit codes: 0 ok, 1 failure (the message names the option or setting at fault), 2 usage error.
 * Secrets (ADMIN_TOKEN, client secrets, tokens) are never printed.
 */
import { ConfigError, describeError } from '../errors.ts';
import { backfillCommand, backfillUsage } from './backfill.ts';
import { CliError, UsageError } from './cliErrors.ts';
import { dlqCommand, dlqUsage } from './dlq.ts';
import { loginCommand, loginUsage } from './login.ts';
import { migrateCommand, migrateUsage } from './migrate.ts';
import { consoleOutput } from './output.ts';
import type { Output } from './output.ts';
import { reconcileCommand, reconcileUsage } from './reconcile.ts';
import { statusCommand, statusUsage } from './status.ts';
import { webhooksCommand, webhooksUsage } from './webhooks.ts';

type Command = (argv: string[], out: Output) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  status: statusCommand,
  dlq: dlqCommand,
  reconcile: reconcileCommand,
  backfill: backfillCommand,
  login: loginCommand,
  webhooks: webhooksCommand,
  migrate: migrateCommand,
};

export const USAGE = `Usage: npm run relay -- <command> [options]

Against a running relay (RELAY_URL, default http://localhost:$PORT; ADMIN_TOKEN):
${[statusUsage, ...dlqUsage, reconcileUsage, backfillUsage].map((l) => `  ${l}`).join('\n')}

With the relay's own settings (COSELL_MODE=production, ENTRA_*, DATABASE_URL, TOKEN_CACHE_KEY, PUBLIC_URL):
${[loginUsage, ...webhooksUsage, migrateUsage].map((l) => `  ${l}`).join('\n')}

Exit codes: 0 ok, 1 failure, 2 usage error.`;

export async function runCli(argv: string[], out: Output = consoleOutput): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    if (name === undefined) {
      out.error(USAGE);
      return 2;
    }
    out.line(USAGE);
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`${name}: unknown command`);
    return await command(rest, out);
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(`relay: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof CliError || error instanceof ConfigError)
      out.error(`relay ${name}: ${error.message}`);
    else out.error(`relay ${name}: ${describeError(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  // Exit explicitly: a command may leave sockets (MSAL's agent, pg) that would hold the process open.
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(describeError(error));
      process.exit(1);
    },
  );
}
