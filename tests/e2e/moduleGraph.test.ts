import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../support/relayHarness.ts';

const NODE = path.join(ROOT, 'node_modules/.bin/node');
const RECORDER = path.join(ROOT, 'tests/support/recordModules.ts');

/** Runs an entry point in production mode and returns its exit code and every module it resolved. */
async function modulesLoadedBy(
  entry: string,
  args: string[],
): Promise<{ code: number | null; urls: string[] }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'cosell-modules-')), 'modules.json');
  const child = spawn(NODE, ['--import', RECORDER, path.join(ROOT, entry), ...args], {
    cwd: ROOT,
    // Production mode without its settings: the relay stops at the configuration check, after its
    // whole static module graph has loaded.
    env: { PATH: process.env.PATH, COSELL_MODE: 'production', COSELL_RECORD_MODULES: file },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, urls: JSON.parse(readFileSync(file, 'utf8')) as string[] };
}

const simulatorsOrForge = (urls: string[]): string[] =>
  urls.filter((url) => url.includes('/relay/sandbox/') || url.includes('/node_modules/node-forge/'));

describe('production module graph', () => {
  it('has no static import from production code of the simulators or node-forge (dependency-cruiser rule)', async () => {
    const child = spawn(
      NODE,
      [
        path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs'),
        '--config',
        '.dependency-cruiser.cjs',
        'relay/src',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, output);
    assert.match(output, /no dependency violations found/);
  });

  it('starts the relay in production mode without loading the simulators or node-forge', async () => {
    const { code, urls } = await modulesLoadedBy('relay/src/main.ts', []);
    assert.equal(code, 78, 'stopped at the configuration check');
    assert.ok(
      urls.some((url) => url.endsWith('/relay/src/relay.ts')),
      'the relay itself was loaded',
    );
    assert.deepEqual(simulatorsOrForge(urls), []);
  });

  it('runs the relay CLI without loading the simulators or node-forge', async () => {
    const { code, urls } = await modulesLoadedBy('relay/src/cli/main.ts', ['--help']);
    assert.equal(code, 0);
    assert.ok(urls.some((url) => url.endsWith('/relay/src/cli/login.ts')));
    assert.deepEqual(simulatorsOrForge(urls), []);
  });
});
