/** Wrong command line: main.ts prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command ran and failed: main.ts prints the message (which names the setting at fault) and exits 1. */
export class CliError extends Error {
  override name = 'CliError';
}
