import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Runs a snippet in a fresh Node process (a crash point kills the process it runs in). */
function runSnippet(
  code: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, stdio: 'pipe' });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, out })));
}

describe('test-only crash points (COSELL_CRASH_POINT)', () => {
  it('refuses a setting that names no crash point, naming the key', () => {
    assert.throws(
      () => loadConfig({ env: { COSELL_CRASH_POINT: 'sf-write:before' }, rootDir: ROOT }),
      (error: unknown) => error instanceof ConfigError && /COSELL_CRASH_POINT/.test(error.message),
    );
    assert.equal(
      loadConfig({ env: { COSELL_CRASH_POINT: 'sf-write:after#3' }, rootDir: ROOT }).COSELL_CRASH_POINT,
      'sf-write:after#3',
    );
  });

  it('kills the process with SIGKILL on the n-th pass of the armed point, and only then', async () => {
    const result = await runSnippet(`
      import { armCrashPoint, crashPoint } from './relay/src/crashPoint.ts';
      armCrashPoint('pc-post:after#3');
      for (let i = 1; i <= 5; i++) {
        crashPoint('sf-write:after');
        console.log('pass ' + i);
        crashPoint('pc-post:after');
      }
    `);
    assert.equal(result.signal, 'SIGKILL');
    assert.deepEqual(result.out.trim().split('\n'), ['pass 1', 'pass 2', 'pass 3']);
  });

  it('does nothing when no point is armed', async () => {
    const result = await runSnippet(`
      import { armCrashPoint, crashPoint } from './relay/src/crashPoint.ts';
      armCrashPoint(undefined);
      crashPoint('sf-write:after');
      console.log('still here');
    `);
    assert.equal(result.code, 0);
    assert.equal(result.out.trim(), 'still here');
  });
});
