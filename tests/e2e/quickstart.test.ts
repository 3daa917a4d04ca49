import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { ROOT } from '../support/relayHarness.ts';
import { freePort } from '../support/ports.ts';
import { NODE, tempDir } from '../support/relayProcess.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * The README's quick start, as a person runs it: `npm start` (sandbox mode: embedded PostgreSQL,
 * both sandboxes, the relay) and then `npm run demo` in a second terminal. Ports and the data
 * folder are moved aside so the test can run next to a developer's own `npm start`.
 */
describe('quick start: npm start, then npm run demo', () => {
  const files = tempDir('quickstart');
  // PostgreSQL runs as its own system user (the relay may run as root): it must reach the folder.
  chmodSync(files.dir, 0o755);
  let relay: ReturnType<typeof spawn> | undefined;
  after(async () => {
    if (relay && relay.exitCode === null) {
      relay.kill('SIGTERM');
      await new Promise((resolve) => relay!.once('exit', resolve));
    }
    files.dispose();
  });

  it('brings up the relay on embedded defaults, and the demo prints the Opportunity the relay wrote', async () => {
    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      // Below the ephemeral range (32768+) that port-0 listeners in other test files draw from.
      SANDBOX_PORT_BASE: String(20000 + Math.floor(Math.random() * 12000)),
      EMBEDDED_PG_DIR: `${files.dir}/postgres`,
      EMBEDDED_PG_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    };
    relay = spawn(NODE, ['relay/src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let relayOutput = '';
    relay.stdout?.on('data', (chunk) => (relayOutput += chunk));
    relay.stderr?.on('data', (chunk) => (relayOutput += chunk));
    await waitFor(
      async () => {
        if (relay?.exitCode !== null) throw new Error(`npm start exited: ${relayOutput}`);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
        return ready?.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: 'the relay to be ready' },
    );
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Dead letters/);

    const demo = spawn(NODE, ['scripts/demo.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    demo.stdout?.on('data', (chunk) => (output += chunk));
    demo.stderr?.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => demo.once('exit', resolve));
    assert.equal(code, 0, output);
    assert.match(output, /The relay wrote Opportunity 006\w+/);
    assert.match(output, /Referral_Sync_Status__c\s+Synced/);
    assert.match(output, /details\.dealValue\s+50000 → 75000/);
  });
});
