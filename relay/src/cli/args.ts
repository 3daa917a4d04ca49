import { UsageError } from './cliErrors.ts';

export interface ParsedArgs {
  positionals: string[];
  flags: Set<string>;
  options: Map<string, string>;
}

/**
 * A small, strict parser: `--flag`, `--option value` / `--option=value` and positionals. Anything
 * not declared is a usage error naming it, so a typo never silently changes what a command does.
 */
export function parseArgs(
  argv: string[],
  spec: { flags?: string[]; options?: string[]; positionals: number },
): ParsedArgs {
  const flags = new Set<string>();
  const options = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (spec.flags?.includes(name) && inline === undefined) flags.add(name);
      else if (spec.options?.includes(name)) {
        const value = inline ?? argv[++i];
        if (value === undefined || value === '') throw new UsageError(`--${name}: needs a value`);
        options.set(name, value);
      } else throw new UsageError(`${arg}: unknown option`);
    } else positionals.push(arg);
  }
  if (positionals.length > spec.positionals)
    throw new UsageError(`${positionals[spec.positionals]}: unexpected argument`);
  return { positionals, flags, options };
}

export function jobIdArg(value: string | undefined): string {
  if (value === undefined) throw new UsageError('<jobId>: missing (see `relay dlq list`)');
  if (!/^\d+$/.test(value)) throw new UsageError(`<jobId>: must be a number, got ${JSON.stringify(value)}`);
  return value;
}
