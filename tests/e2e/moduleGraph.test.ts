import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { findSalesforceNames } from '../../scripts/crmNames.ts';
import { matchingSourceLines } from '../../scripts/sourceLines.ts';
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

/** Runs dependency-cruiser with the repository's rules over relay/src of the tree at `cwd`. */
async function cruise(cwd: string): Promise<{ output: string }> {
  const child = spawn(
    NODE,
    [
      path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs'),
      '--config',
      path.join(ROOT, '.dependency-cruiser.cjs'),
      '--output-type',
      'json',
      'relay/src',
    ],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  // With JSON output dependency-cruiser exits 0 whatever it finds: the violations are read instead.
  await new Promise((resolve) => child.on('exit', resolve));
  return { output };
}

const violationsOf = (output: string): string[] =>
  (
    JSON.parse(output) as {
      summary: { violations: Array<{ rule: { name: string }; from: string; to: string }> };
    }
  ).summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);

/** A tree that breaks each architecture rule once, to prove the rules catch what they name. */
function brokenTree(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cosell-rules-'));
  const files: Record<string, string> = {
    'node_modules/pg/package.json': '{"name":"pg","main":"index.js"}',
    'node_modules/pg/index.js': 'module.exports = {};',
    'relay/src/sync/core.ts':
      "import { readFileSync } from 'node:fs';\nimport { createHash } from 'node:crypto';\nimport { rows } from '../store/rows.ts';\nexport const x = [readFileSync, createHash, rows];\n",
    'relay/src/store/rows.ts': "import pg from 'pg';\nexport const rows = pg;\n",
    'relay/src/jobs/job.ts':
      "import pg from 'pg';\nimport type { Pool } from 'pg';\nexport const job = pg as unknown as Pool;\n",
    'relay/src/jobs/crmJob.ts':
      "import type { CrmAdapter } from '../crm/crmAdapter.ts';\nimport { write } from '../crm/salesforce/gateway.ts';\nexport const crmJob = (crm: CrmAdapter) => [crm, write];\n",
    'relay/src/crm/crmAdapter.ts': 'export interface CrmAdapter {\n  name: string;\n}\n',
    'relay/src/crm/salesforce/gateway.ts': 'export const write = 1;\n',
    'relay/src/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
    'relay/src/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
    'relay/src/main.ts':
      "import { sim } from '../sandbox/sim.ts';\nexport const main = () => import('../sandbox/sim.ts').then(() => sim);\n",
    'relay/sandbox/sim.ts': 'export const sim = 1;\n',
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

describe('architecture rules (dependency-cruiser, .dependency-cruiser.cjs)', () => {
  it('hold for relay/src: no circle, a pure sync core, CRMs only through the port, SQL only in store/, no simulators in production', async () => {
    const { output } = await cruise(ROOT);
    assert.deepEqual(violationsOf(output), []);
  });

  it('catch each kind of break', async () => {
    const { output } = await cruise(brokenTree());
    assert.deepEqual(violationsOf(output).sort(), [
      'core-does-no-io: relay/src/sync/core.ts -> relay/src/store/rows.ts',
      'core-uses-no-io-builtins: relay/src/sync/core.ts -> fs',
      'no-circular: relay/src/a.ts -> relay/src/b.ts',
      'only-store-talks-to-postgres: relay/src/jobs/job.ts -> node_modules/pg/index.js',
      'orchestration-uses-the-crm-port: relay/src/jobs/crmJob.ts -> relay/src/crm/salesforce/gateway.ts',
      'production-loads-no-simulators: relay/src/main.ts -> relay/sandbox/sim.ts',
    ]);
  });
});

describe('Salesforce names (npm run check:crm-names)', () => {
  it('appear nowhere in relay/src but relay/src/crm/salesforce', () => {
    assert.deepEqual(findSalesforceNames(ROOT), []);
  });

  it('are found in a job, and left alone in the adapter and in tests', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cosell-names-'));
    const files: Record<string, string> = {
      'relay/src/jobs/job.ts': 'export const won = (r: Record<string, unknown>) => r.IsWon;\n',
      'relay/src/sync/core.ts': "export const field = 'Referral_Identifier__c';\n",
      'relay/src/crm/salesforce/adapter.ts': "export const won = 'IsWon';\n",
      'relay/src/jobs/job.test.ts': "const stage = 'StageName';\n",
    };
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    assert.deepEqual(findSalesforceNames(dir).sort(), [
      'relay/src/jobs/job.ts:1: export const won = (r: Record<string, unknown>) => r.IsWon;',
      "relay/src/sync/core.ts:1: export const field = 'Referral_Identifier__c';",
    ]);
  });
});

describe('SQL', () => {
  it('is written only in relay/src/store (SOQL, Salesforce query text, stays in its adapter)', () => {
    const statement =
      /['"`]\s*(select\s+[a-z_*0-9]|insert\s+into|update\s+[a-z_.]+\s+set|delete\s+from|create\s+(table|index)|alter\s+table)/i;
    const found = matchingSourceLines(ROOT, {
      dir: 'relay/src',
      pattern: statement,
      skip: ['relay/src/store', 'relay/src/crm/salesforce'],
    });
    assert.deepEqual(found, []);
  });
});

describe('production module graph', () => {
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
