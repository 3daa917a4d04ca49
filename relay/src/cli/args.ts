import { parseArgs as parseNodeArgs } from 'node:util';
import { UsageError } from './cliErrors.ts';

export interface ParsedArgs {
  positionals: string[];
  flags: Set<string>;
  options: Map<string, string>;
}

/**
 * Strict parsing with node:util's parseArgs: `--flag`, `--option value` / `--option=value` and
 * positionals. Anything not declared is a usage error naming it, so a typo never silently changes
 * what a command does. `--help` is handled by main.ts before a command parses.
 */
export function parseArgs(
  argv: string[],
  spec: { flags?: string[]; options?: string[]; positionals: number },
): ParsedArgs {
  const declared: Record<string, { type: 'boolean' | 'string' }> = {};
  for (const name of spec.flags ?? []) declared[name] = { type: 'boolean' };
  for (const name of spec.options ?? []) declared[name] = { type: 'string' };
  let parsed;
  try {
    parsed = parseNodeArgs({ args: argv, options: declared, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(usageMessage(error as Error & { code?: string }, argv, spec));
  }
  const flags = new Set<string>();
  const options = new Map<string, string>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === 'boolean') flags.add(name);
    else if (typeof value === 'string') {
      if (value === '') throw new UsageError(`--${name}: needs a value`);
      options.set(name, value);
    }
  }
  if (parsed.positionals.length > spec.positionals)
    throw new UsageError(`${parsed.positionals[spec.positionals]}: unexpected argument`);
  return { positionals: parsed.positionals, flags, options };
}

/** node:util's messages are long and name the API; ours name the option at fault. */
function usageMessage(
  error: Error & { code?: string },
  argv: string[],
  spec: { flags?: string[]; options?: string[] },
): string {
  const named = /'(-{1,2}[^'\s]+)/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return `${named ?? argv.find((a) => a.startsWith('-')) ?? 'option'}: unknown option`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = named?.replace(/^-+/, '').split(/[\s=]/)[0] ?? '';
    return spec.flags?.includes(name) ? `--${name}: takes no value` : `--${name}: needs a value`;
  }
  return error.message;
}

export function jobIdArg(value: string | undefined): string {
  if (value === undefined) throw new UsageError('<jobId>: missing (see `relay dlq list`)');
  if (!/^\d+$/.test(value)) throw new UsageError(`<jobId>: must be a number, got ${JSON.stringify(value)}`);
  return value;
}
