import { loadConfig } from '../config.ts';
import { describeError } from '../errors.ts';
import { openCommandPool } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { installQueueSchema } from '../store/queue.ts';
import { parseArgs } from './args.ts';
import { CliError } from './cliErrors.ts';
import type { Output } from './output.ts';

export const migrateUsage =
  'migrate [--json]           apply database migrations to DATABASE_URL (the relay also does at start)';

/** `relay migrate` / `npm run relay:migrate`: e.g. a release-phase command on Heroku or Render. */
export async function migrateCommand(argv: string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { flags: ['json'], positionals: 0 });
  const config = loadConfig();
  if (!config.DATABASE_URL) {
    throw new CliError(
      'DATABASE_URL: not set. Without it the relay uses its embedded database, which it migrates itself at every start.',
    );
  }
  const pool = openCommandPool(config.DATABASE_URL);
  try {
    const applied = await migrate(pool);
    await installQueueSchema(pool);
    if (args.flags.has('json')) {
      out.line(JSON.stringify({ applied }));
      return 0;
    }
    out.line(
      applied.length > 0
        ? `Applied ${applied.length} migration(s):\n${applied.map((m) => `  ${m}`).join('\n')}`
        : 'Database is up to date.',
    );
    out.line('Queue schema (graphile-worker) is up to date.');
    return 0;
  } catch (error) {
    throw new CliError(`DATABASE_URL: migration failed: ${describeError(error)}`);
  } finally {
    await pool.end();
  }
}
