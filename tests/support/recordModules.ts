/**
 * Preloaded with `--import`: records the URL of every module this process resolves (imports and
 * requires alike, through the in-thread module hooks) and writes them as JSON to the file named by
 * COSELL_RECORD_MODULES when the process exits, however it exits.
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const file = process.env.COSELL_RECORD_MODULES;
const seen = new Set<string>();
if (file) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      seen.add(resolved.url);
      return resolved;
    },
  });
  process.on('exit', () => writeFileSync(file, JSON.stringify([...seen])));
}
