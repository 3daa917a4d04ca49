// Searches the relay's production source, line by line: `.ts`, `.js` and `.html` files under a
// folder, leaving out tests and test fixtures and any path given in `skip`. Used by
// scripts/crmNames.ts and by the tests that keep a kind of code in one place (SQL, link writes).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

function isProductionSource(file: string): boolean {
  return /\.(ts|js|html)$/.test(file) && !/\.test\.ts$/.test(file) && !/\/testFixtures\.ts$/.test(file);
}

/** `file:line: text` (paths relative to `root`) for every line under `dir` that `pattern` matches. */
export function matchingSourceLines(
  root: string,
  options: { dir: string; pattern: RegExp; skip?: readonly string[] },
): string[] {
  const skip = new Set(options.skip ?? []);
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const relative = path.join(dir, entry.name);
      if (skip.has(relative)) continue;
      if (entry.isDirectory()) visit(relative);
      else if (isProductionSource(relative)) {
        readFileSync(path.join(root, relative), 'utf8')
          .split('\n')
          .forEach((line, index) => {
            if (options.pattern.test(line)) found.push(`${relative}:${index + 1}: ${line.trim()}`);
          });
      }
    }
  };
  visit(options.dir);
  return found;
}
