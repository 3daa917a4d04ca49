import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A throwaway copy of what the package scripts read: force-app, config and the project files. */
export function copyProject(): { root: string; remove: () => void } {
  const root = mkdtempSync(path.join(tmpdir(), 'cosell-package-'));
  for (const entry of ['force-app', 'config', 'sfdx-project.json', '.forceignore']) {
    cpSync(path.join(repoRoot, entry), path.join(root, entry), { recursive: true });
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
