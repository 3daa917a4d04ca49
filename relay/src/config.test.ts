import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { describeConfig, loadConfig } from './config.ts';
import { connectionSettingsFromConfig } from './connectionSettings.ts';
import { ConfigError } from './errors.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const EMPTY_CONFIG_DIR = mkdtempSync(path.join(os.tmpdir(), 'cosell-config-'));

function load(env: Record<string, string>) {
  return loadConfig({ env, rootDir: ROOT, configDir: EMPTY_CONFIG_DIR });
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('the configuration was accepted');
}

const production = {
  COSELL_MODE: 'production',
  DATABASE_URL: 'postgres://relay:db-secret@db.example.com/cosell',
  PUBLIC_URL: 'https://relay.example.com',
  ADMIN_TOKEN: 'admin-token-0123456789',
  TOKEN_CACHE_KEY: 'a'.repeat(64),
  ENTRA_TENANT_ID: 'tenant',
  ENTRA_CLIENT_ID: 'client',
  ENTRA_CLIENT_SECRET: 'entra-secret',
  SF_LOGIN_URL: 'https://login.salesforce.com',
  SF_CLIENT_ID: 'sf-client',
  SF_CLIENT_SECRET: 'sf-secret',
  WEBHOOK_TRUSTED_ROOTS_PEM: PEM,
};

describe('configuration', () => {
  it('refuses a DATABASE_URL without an explicit COSELL_MODE instead of running sandbox mode on it', () => {
    const problems = problemsOf({ DATABASE_URL: 'postgres://relay@db.example.com/cosell' });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], /^COSELL_MODE: required when DATABASE_URL is set/);
    const sandbox = load({ COSELL_MODE: 'sandbox', DATABASE_URL: 'postgres://relay@db.example.com/cosell' });
    assert.equal(sandbox.COSELL_MODE, 'sandbox');
    assert.equal(load({}).COSELL_MODE, 'sandbox');
  });

  it('binds sandbox mode to 127.0.0.1 and production to every interface unless HOST says otherwise', () => {
    assert.equal(load({}).HOST, '127.0.0.1');
    assert.equal(load({ HOST: '0.0.0.0' }).HOST, '0.0.0.0');
    assert.equal(load(production).HOST, '0.0.0.0');
    assert.equal(load({ ...production, HOST: '10.0.0.5' }).HOST, '10.0.0.5');
  });

  it("lets the admin API answer loopback names and PUBLIC_URL's host, or the list ADMIN_ALLOWED_HOSTS gives", () => {
    assert.deepEqual(load({}).ADMIN_ALLOWED_HOSTS, ['localhost', '127.0.0.1', '[::1]']);
    assert.deepEqual(load(production).ADMIN_ALLOWED_HOSTS, [
      'localhost',
      '127.0.0.1',
      '[::1]',
      'relay.example.com',
    ]);
    assert.deepEqual(
      load({ ADMIN_ALLOWED_HOSTS: 'Ops.Example.com, relay.internal:8080' }).ADMIN_ALLOWED_HOSTS,
      ['ops.example.com', 'relay.internal'],
    );
  });

  it('names missing and malformed keys together in one message, without echoing secrets', () => {
    const problems = problemsOf({
      COSELL_MODE: 'production',
      PORT: 'abc',
      TOKEN_CACHE_KEY: 'not-a-key-secret',
      PUBLIC_URL: 'relay.example.com',
      SF_CLIENT_ID: 'sf-client',
    });
    const text = problems.join('\n');
    assert.match(text, /^PORT: .*\(got "abc"\)$/m);
    assert.match(text, /^TOKEN_CACHE_KEY: must be 32 bytes/m);
    assert.match(text, /^PUBLIC_URL: /m);
    for (const key of [
      'DATABASE_URL',
      'ADMIN_TOKEN',
      'ENTRA_TENANT_ID',
      'ENTRA_CLIENT_ID',
      'ENTRA_CLIENT_SECRET',
      'SF_LOGIN_URL',
      'SF_CLIENT_SECRET',
      'WEBHOOK_TRUSTED_ROOTS_FILE',
    ])
      assert.match(text, new RegExp(`^${key}: required when COSELL_MODE=production`, 'm'), key);
    assert.doesNotMatch(text, /^SF_CLIENT_ID:/m);
    assert.ok(!text.includes('not-a-key-secret'));
  });

  it('has no default Salesforce login URL: production must name one', () => {
    const { SF_LOGIN_URL: _dropped, ...rest } = production;
    assert.deepEqual(problemsOf(rest), ['SF_LOGIN_URL: required when COSELL_MODE=production']);
    assert.equal(load({}).SF_LOGIN_URL, undefined);
  });

  it('takes each PEM setting inline or as a file, and names an unreadable file among the other problems', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cosell-pem-'));
    const file = path.join(dir, 'roots.pem');
    writeFileSync(file, PEM);
    const inline = connectionSettingsFromConfig(
      load({ ...production, WEBHOOK_CERT_FETCH_CA_PEM: PEM.replace(/\n/g, '\\n') }),
    );
    assert.deepEqual(inline.webhook.trustedRootsPem, [PEM]);
    assert.equal(inline.webhook.certificateFetchCaPem, PEM, 'escaped newlines are restored');
    const { WEBHOOK_TRUSTED_ROOTS_PEM: _inline, ...withoutInline } = production;
    const fromFile = connectionSettingsFromConfig(
      load({ ...withoutInline, WEBHOOK_TRUSTED_ROOTS_FILE: file }),
    );
    assert.deepEqual(fromFile.webhook.trustedRootsPem, [PEM]);

    assert.deepEqual(problemsOf({ ...production, WEBHOOK_TRUSTED_ROOTS_FILE: file }), [
      'WEBHOOK_TRUSTED_ROOTS_PEM: set either WEBHOOK_TRUSTED_ROOTS_FILE or WEBHOOK_TRUSTED_ROOTS_PEM, not both',
    ]);
    const problems = problemsOf({
      ...withoutInline,
      WEBHOOK_TRUSTED_ROOTS_FILE: path.join(dir, 'missing.pem'),
      WEBHOOK_CERT_FETCH_CA_PEM: 'not a certificate',
      ENTRA_CLIENT_ID: '',
    });
    assert.deepEqual(problems.sort(), [
      'ENTRA_CLIENT_ID: required when COSELL_MODE=production',
      'WEBHOOK_CERT_FETCH_CA_PEM: holds no PEM certificate',
      `WEBHOOK_TRUSTED_ROOTS_FILE: cannot read ${path.join(dir, 'missing.pem')} (ENOENT)`,
    ]);
  });

  it('describes only the settings given that differ from the defaults, secrets as [set]', () => {
    const shown = describeConfig(load({ ...production, PORT: '3000', WORKER_CONCURRENCY: '50' }));
    assert.deepEqual(Object.keys(shown).sort(), [
      'ADMIN_TOKEN',
      'DATABASE_URL',
      'ENTRA_CLIENT_ID',
      'ENTRA_CLIENT_SECRET',
      'ENTRA_TENANT_ID',
      'PUBLIC_URL',
      'SF_CLIENT_ID',
      'SF_CLIENT_SECRET',
      'SF_LOGIN_URL',
      'TOKEN_CACHE_KEY',
      'WEBHOOK_TRUSTED_ROOTS_PEM',
      'WORKER_CONCURRENCY',
    ]);
    assert.equal(shown.DATABASE_URL, '[set]');
    assert.equal(shown.WEBHOOK_TRUSTED_ROOTS_PEM, '[PEM]');
    assert.equal(shown.WORKER_CONCURRENCY, 50);
    assert.deepEqual(describeConfig(load({})), {});
  });
});
