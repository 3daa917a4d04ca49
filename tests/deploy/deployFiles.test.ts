import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SETTING_NAMES } from '../../relay/src/config.ts';
import { deployFiles } from '../../scripts/generateDeployFiles.ts';
import { ROOT } from '../support/relayHarness.ts';

const read = (name: string) => readFileSync(path.join(ROOT, name), 'utf8');
const sorted = (keys: Iterable<string>) => [...keys].sort();

describe('deploy artefacts', () => {
  it('app.json, render.yaml and .env.example are what `npm run deploy:generate` writes', async () => {
    for (const [name, text] of Object.entries(await deployFiles()))
      assert.equal(read(name), text, `${name} is stale: run npm run deploy:generate`);
  });

  it('each names every setting config.ts defines and nothing else', () => {
    const app = JSON.parse(read('app.json')) as { env: Record<string, unknown> };
    assert.deepEqual(sorted(Object.keys(app.env)), sorted(SETTING_NAMES));
    const render = [...read('render.yaml').matchAll(/^\s*(?:#\s*)?- key: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(sorted(render), sorted(SETTING_NAMES));
    assert.equal(new Set(render).size, render.length, 'render.yaml names each key once');
    const env = [...read('.env.example').matchAll(/^(?:#\s*)?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    assert.deepEqual(sorted(env), sorted(SETTING_NAMES));
  });

  it('app.json: the Heroku button with a Postgres add-on, a description for every setting, generated secrets', () => {
    const app = JSON.parse(read('app.json')) as {
      addons: Array<{ plan: string }>;
      env: Record<string, { description?: string; generator?: string; value?: string; required?: boolean }>;
      buildpacks: Array<{ url: string }>;
    };
    assert.ok(app.addons.some((a) => a.plan.startsWith('heroku-postgresql')));
    assert.deepEqual(app.buildpacks, [{ url: 'heroku/nodejs' }]);
    for (const [key, entry] of Object.entries(app.env))
      assert.ok((entry.description ?? '').length > 10, `${key} has a description`);
    assert.equal(app.env.ADMIN_TOKEN.generator, 'secret');
    assert.equal(app.env.TOKEN_CACHE_KEY.generator, 'secret');
    assert.equal(app.env.COSELL_MODE.value, 'production');
    for (const key of ['PUBLIC_URL', 'ENTRA_TENANT_ID', 'SF_LOGIN_URL', 'WEBHOOK_TRUSTED_ROOTS_PEM'])
      assert.equal(app.env[key].required, true, key);
  });

  it('render.yaml: a web service with a health check and a migrating pre-deploy, plus its Postgres', () => {
    const render = read('render.yaml');
    assert.match(render, /^services:\n {2}- type: web\n/m);
    assert.match(render, /^ {4}healthCheckPath: \/healthz$/m);
    assert.match(render, /^ {4}preDeployCommand: npm run relay:migrate$/m);
    assert.match(render, /^ {4}startCommand: npm start$/m);
    assert.match(
      render,
      /- key: DATABASE_URL\n\s+fromDatabase:\n\s+name: cosell-db\n\s+property: connectionString/,
    );
    assert.match(render, /^databases:\n {2}- name: cosell-db$/m);
    assert.match(render, /- key: TOKEN_CACHE_KEY\n\s+generateValue: true/);
    assert.match(render, /- key: ADMIN_TOKEN\n\s+generateValue: true/);
  });

  it('Procfile: a web process that starts the relay and a release phase that migrates', () => {
    const procfile = Object.fromEntries(
      read('Procfile')
        .trim()
        .split('\n')
        .map((line) => /^(\w+):\s*(.*)$/.exec(line)!.slice(1, 3)),
    );
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    assert.deepEqual(Object.keys(procfile).sort(), ['release', 'web']);
    assert.equal(procfile.web, 'npm start');
    assert.equal(scripts.start, 'node relay/src/main.ts');
    assert.equal(procfile.release, 'npm run relay:migrate');
    assert.equal(scripts['relay:migrate'], 'node relay/src/cli/main.ts migrate');
  });

  it('.nvmrc names the Node major version package.json requires', () => {
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const major = /^>=(\d+) <(\d+)$/.exec(engines);
    assert.ok(major, engines);
    assert.equal(read('.nvmrc').trim(), major[1]);
    assert.match(read('Dockerfile'), new RegExp(`^FROM node:${major[1]}-`, 'm'));
  });
});
