import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../support/relayHarness.ts';
import { NODE, startProductionFixture } from '../support/relayProcess.ts';
import type { ProductionFixture } from '../support/relayProcess.ts';
import { waitFor } from '../support/waitFor.ts';

/**
 * No Docker engine runs here, so this performs the Dockerfile's steps in a temporary folder and
 * starts the result: the COPY instructions (honouring .dockerignore), and for `npm ci --omit=dev`
 * the production dependency tree npm resolves from the lockfile, linked from this checkout. What
 * the image would lack (a dev dependency the code needs, a file no COPY brings) fails here.
 */

interface Stage {
  name?: string;
  from: string;
  instructions: Array<{ op: string; args: string }>;
}

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const line of logical) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line)!;
    if (op.toUpperCase() === 'FROM') {
      const [from, , name] = args.split(/\s+/);
      stages.push({ from, name, instructions: [] });
    } else stages.at(-1)!.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

// .dockerignore patterns in the few shapes used there: a name, a double-star extension glob, `.env.*`, `!keep`.
function ignoredBy(patterns: string[]): (relative: string) => boolean {
  const rules = patterns.map((p) => {
    const negate = p.startsWith('!');
    const body = negate ? p.slice(1) : p;
    const regex = new RegExp(
      `^${body
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '(?:.*/)?')
        .replace(/\*/g, '[^/]*')}(?:/.*)?$`,
    );
    return { negate, regex };
  });
  return (relative) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(relative)) ignored = !rule.negate;
    return ignored;
  };
}

/** Hard links where the file system allows (fast, read-only use), copies otherwise. */
function linkTree(from: string, to: string, skip: (source: string) => boolean): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (skip(source)) continue;
    if (entry.isDirectory()) linkTree(source, target, skip);
    else if (entry.isSymbolicLink()) copyFileSync(source, target);
    else {
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target);
      }
    }
  }
}

describe('the container image, built step by step without Docker', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const stages = parseDockerfile(dockerfile);
  const work = mkdtempSync(path.join(os.tmpdir(), 'cosell-image-'));
  const app = path.join(work, 'app');
  let fixture: ProductionFixture;

  before(async () => {
    fixture = await startProductionFixture('image');
  });
  after(async () => {
    await fixture?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('is multi-stage, installs production dependencies only, runs as a non-root user with a HEALTHCHECK', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    const [deps, runtime] = [stages[0], stages.at(-1)!];
    assert.ok(deps.instructions.some((i) => i.op === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args)));
    const user = runtime.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    assert.ok(user && user !== 'root' && user !== '0', `runs as ${user}`);
    assert.ok(runtime.instructions.some((i) => i.op === 'HEALTHCHECK' && /\/healthz/.test(i.args)));
    assert.equal(runtime.instructions.find((i) => i.op === 'CMD')?.args, '["node", "relay/src/main.ts"]');
    assert.match(runtime.from, /^node:24-/);
  });

  it('starts in production mode from what the image would contain, answers its HEALTHCHECK, and stops on SIGTERM', async () => {
    const ignored = ignoredBy(
      readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
    // Stage 1: the lockfile's production tree, as `npm ci --omit=dev` would install it.
    const production = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    })
      .trim()
      .split('\n')
      .filter((p) => p !== ROOT);
    assert.ok(production.length > 50, `${production.length} production packages`);
    const depsRoot = path.join(work, 'deps');
    for (const dir of production) {
      const relative = path.relative(ROOT, dir);
      // Nested node_modules are listed on their own when they belong to the production tree.
      linkTree(dir, path.join(depsRoot, relative), (source) => source === path.join(dir, 'node_modules'));
    }
    // Stage 2: every COPY of the runtime stage.
    for (const { op, args } of stages.at(-1)!.instructions) {
      if (op !== 'COPY') continue;
      const parts = args.split(/\s+/).filter((a) => !a.startsWith('--chown'));
      const fromStage = parts[0].startsWith('--from=') ? parts.shift() : undefined;
      const target = path.join(app, parts.pop()!.replace(/^\.\/?/, ''));
      for (const source of parts) {
        const base = fromStage ? depsRoot : ROOT;
        const relative = fromStage ? source.replace(/^\/app\//, '') : source;
        const from = path.join(base, relative);
        const destination =
          parts.length > 1 || target.endsWith('/') ? path.join(target, path.basename(from)) : target;
        linkTree(path.dirname(from), path.dirname(destination), (s) => {
          const rel = path.relative(base, s);
          if (!fromStage && ignored(rel)) return true;
          return !(s === from || s.startsWith(`${from}${path.sep}`) || from.startsWith(`${s}${path.sep}`));
        });
      }
    }
    for (const dev of ['eslint', 'prettier', 'supertest', 'fast-check', 'node'])
      assert.ok(!existsSync(path.join(app, 'node_modules', dev)), `${dev} is a dev dependency`);
    assert.ok(!existsSync(path.join(app, 'tests')), 'no tests in the image');
    assert.ok(existsSync(path.join(app, 'relay/src/main.ts')));

    const env: Record<string, string> = { ...fixture.env, NODE_ENV: 'production' };
    const child = spawn(NODE, ['relay/src/main.ts'], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`the relay exited: ${output}`);
          const ready = await fetch(`http://127.0.0.1:${env.PORT}/readyz`).catch(() => null);
          return ready?.status === 200;
        },
        { timeoutMs: 60_000, intervalMs: 200, message: 'the relay from the image folder to be ready' },
      );
      // The HEALTHCHECK's own command, run the way the engine would run it inside the container.
      const healthcheck = stages.at(-1)!.instructions.find((i) => i.op === 'HEALTHCHECK')!.args;
      const command = JSON.parse(/CMD\s+(\[.*\])$/.exec(healthcheck)![1]) as string[];
      assert.equal(command[0], 'node');
      const probe = spawn(NODE, command.slice(1), {
        cwd: app,
        env: { PATH: process.env.PATH ?? '', PORT: env.PORT },
      });
      assert.equal(await new Promise((resolve) => probe.once('exit', resolve)), 0, 'HEALTHCHECK passes');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
    assert.ok(!/"level":(40|50|60)/.test(output), `no WARN or ERROR:\n${output}`);
  });
});
