import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freePort } from '../../../tests/support/ports.ts';
import { createTestDatabase } from '../../../tests/support/postgres.ts';
import { silentLogger } from '../logger.ts';
import { createEntraAuth } from '../partner-center/entraAuth.ts';
import { createTokenCacheStore } from '../store/tokenCache.ts';
import {
  createEntraAuthority,
  trustSandboxCertificate,
} from '../../sandbox/partner-center/entraAuthority.ts';
import type { EntraAuthority } from '../../sandbox/partner-center/entraAuthority.ts';
import { runCli, startCli, writeTempFile } from './testSupport.ts';

const TENANT = '4f6c2b1e-0000-4000-8000-00000000c0de';
const CLIENT = {
  clientId: 'c05e11a0-0000-4000-8000-00000000c11e',
  clientSecret: 'login-test-client-secret-value',
};
const USER = 'sales.ops@partner.sandbox';
const KEY = 'b'.repeat(64);

describe('relay login', () => {
  let entra: EntraAuthority;
  let env: Record<string, string>;
  let redirectUri: string;
  let databaseUrl: string;

  before(async () => {
    const port = await freePort();
    redirectUri = `http://localhost:${port}/auth/callback`;
    entra = await createEntraAuthority({
      tenantId: TENANT,
      clients: [{ ...CLIENT, redirectUris: [redirectUri] }],
      users: [{ username: USER, objectId: '7d0c5a7e-0000-4000-8000-00000000c0de', name: 'Sales Ops' }],
    });
    trustSandboxCertificate(entra.certificatePem);
    const pem = writeTempFile('entra.pem', entra.certificatePem);
    databaseUrl = await createTestDatabase('cli_login');
    env = {
      COSELL_MODE: 'production',
      NODE_EXTRA_CA_CERTS: pem,
      PUBLIC_URL: 'https://relay.example.com',
      ADMIN_TOKEN: 'login-test-admin-token-0123',
      DATABASE_URL: databaseUrl,
      TOKEN_CACHE_KEY: KEY,
      ENTRA_AUTHORITY_HOST: entra.url,
      ENTRA_TENANT_ID: TENANT,
      ENTRA_CLIENT_ID: CLIENT.clientId,
      ENTRA_CLIENT_SECRET: CLIENT.clientSecret,
      ENTRA_KNOWN_AUTHORITIES: entra.knownAuthorities.join(','),
      ENTRA_REDIRECT_URI: redirectUri,
      WEBHOOK_TRUSTED_ROOTS_FILE: pem,
      SF_LOGIN_URL: 'https://login.salesforce.com',
      SF_CLIENT_ID: 'unused-here',
      SF_CLIENT_SECRET: 'unused-here-too',
    };
  });
  after(() => entra?.close());

  it('signs in through the browser redirect to its loopback server and stores the token encrypted in Postgres', async () => {
    const cli = startCli(['login', '--timeout', '30'], env);
    const [signInUrl] = await cli.waitForOutput(/https:\/\/\S+\/oauth2\/v2\.0\/authorize\?\S+/);
    await cli.waitForOutput(/Waiting for the browser/);
    // The browser: Entra answers the sign-in with a redirect to the CLI's loopback server.
    const authorize = await fetch(signInUrl, { redirect: 'manual' });
    assert.equal(authorize.status, 302);
    const location = authorize.headers.get('location')!;
    assert.ok(location.startsWith(`${redirectUri}?`), location);
    const landing = await fetch(location);
    assert.equal(landing.status, 200);
    assert.match(await landing.text(), new RegExp(`acts as ${USER.replace('.', '\\.')}`));

    const run = await cli.done;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`Signed in to Partner Center as ${USER.replace('.', '\\.')}`));
    assert.equal(entra.counters.grants.authorization_code, 1);
    for (const text of [run.stdout, run.stderr]) {
      assert.ok(
        !text.includes(CLIENT.clientSecret) && !text.includes(KEY) && !/eyJ[\w-]+\.eyJ/.test(text),
        'no secret or token printed',
      );
    }

    // The relay reads the same stored cache and lives on its refresh token.
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    try {
      const { rows } = await pool.query<{ ciphertext: Buffer }>('select ciphertext from cosell.token_cache');
      assert.equal(rows.length, 1);
      assert.ok(!rows[0].ciphertext.toString('utf8').includes(USER), 'the stored cache is encrypted');
      const auth = createEntraAuth({
        authority: entra.authority,
        clientId: CLIENT.clientId,
        clientSecret: CLIENT.clientSecret,
        referralsScopes: ['https://api.partner.microsoft.com/user_impersonation', 'offline_access'],
        webhookScopes: ['https://api.partnercenter.microsoft.com/.default'],
        cacheStore: createTokenCacheStore(pool, Buffer.from(KEY, 'hex')),
        authorityMetadata: entra.authorityMetadata,
        cloudDiscoveryMetadata: entra.cloudDiscoveryMetadata,
        knownAuthorities: entra.knownAuthorities,
        logger: silentLogger(),
        healthRefreshIntervalMs: 0,
      });
      const health = await auth.tokenHealth();
      assert.equal(health.status, 'ok');
      assert.equal(health.account, USER);
    } finally {
      await pool.end();
    }
  });

  it('refuses a redirect that carries another state', async () => {
    const cli = startCli(['login', '--timeout', '30'], env);
    const [signInUrl] = await cli.waitForOutput(/https:\/\/\S+\/oauth2\/v2\.0\/authorize\?\S+/);
    await cli.waitForOutput(/Waiting for the browser/);
    const forged = new URL(signInUrl);
    forged.searchParams.set('state', 'forged');
    const location = (await fetch(forged, { redirect: 'manual' })).headers.get('location')!;
    assert.equal((await fetch(location)).status, 400);
    const run = await cli.done;
    assert.equal(run.code, 1);
    assert.match(run.stderr, /different state/);
  });

  it('names the missing setting, and says what a sandbox rehearsal needs', async () => {
    const missing = await runCli(['login'], { ...env, ENTRA_CLIENT_SECRET: '' });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENTRA_CLIENT_SECRET: required/);
    const sandbox = await runCli(['login'], { COSELL_MODE: 'sandbox', PORT: '9' });
    assert.equal(sandbox.code, 1);
    assert.match(sandbox.stderr, /no `npm start` in sandbox mode is running on PORT 9/);
  });
});
