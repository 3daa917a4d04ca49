/**
 * npm run preview: builds the referral panel's preview and serves it for a person to look at.
 *   npm run preview [-- --port <port>] [--rebuild]   (port: default a free one the OS picks;
 *   --rebuild: compile even when the sources have not changed since the last build)
 */
import { buildPreview } from './build.ts';
import { startPreviewServer } from './server.ts';

function portArgument(argv: string[]): number {
  const index = argv.indexOf('--port');
  if (index < 0) return 0;
  const port = Number(argv[index + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port: expected a port number from 0 to 65535, got ${JSON.stringify(argv[index + 1])}`);
  }
  return port;
}

try {
  const port = portArgument(process.argv.slice(2));
  const { dir, states } = await buildPreview(undefined, { force: process.argv.includes('--rebuild') });
  const server = await startPreviewServer(dir, port);
  const lines = [`Referral panel preview (built into ${dir}), one page per state:`];
  for (const state of states) {
    lines.push(`  ${state.title.padEnd(22)} ${server.url}/?state=${state.name}`);
  }
  lines.push('Ctrl+C stops it.');
  process.stdout.write(`${lines.join('\n')}\n`);
  process.once('SIGINT', () => void server.close());
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
