import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createEntraAuthority, trustSandboxCertificate } from './entraAuthority.ts';
import type { EntraAuthority } from './entraAuthority.ts';

const CLIENT = { clientId: 'client-1', clientSecret: 's3cret', redirectUris: ['http://127.0.0.1:5000/cb'] };
const USER = { username: 'user@contoso.example', objectId: 'oid-1', name: 'User' };
const NO_MFA = { username: 'nomfa@contoso.example', objectId: 'oid-2', name: 'No MFA', mfa: false };
let authority: EntraAuthority;

before(async () => {
  authority = await createEntraAuthority({ tenantId: 'tenant-1', clients: [CLIENT], users: [USER, NO_MFA] });
  trustSandboxCertificate(authority.certificatePem);
});
after(() => authority.close());

const tokenUrl = () => `${authority.authority}/oauth2/v2.0/token`;
const post = (form: Record<string, string>) =>
  fetch(tokenUrl(), { method: 'POST', body: new URLSearchParams(form) });

async function signInCode(loginHint?: string): Promise<string> {
  const url = new URL(`${authority.authority}/oauth2/v2.0/authorize`);
  url.search = new URLSearchParams({
    client_id: CLIENT.clientId,
    redirect_uri: CLIENT.redirectUris[0],
    response_type: 'code',
    scope: 'https://api.partner.microsoft.com/user_impersonation openid offline_access',
    state: 'st',
    ...(loginHint ? { login_hint: loginHint } : {}),
  }).toString();
  const response = await fetch(url, { redirect: 'manual' });
  return new URL(response.headers.get('location') ?? '').searchParams.get('code') ?? '';
}

describe('sandbox Entra authority', () => {
  it('serves an OpenID configuration matching the metadata handed to MSAL', async () => {
    const response = await fetch(`${authority.authority}/v2.0/.well-known/openid-configuration`);
    assert.deepEqual(await response.json(), JSON.parse(authority.authorityMetadata));
  });

  it('refuses to redirect to an unregistered redirect URI', async () => {
    const url = `${authority.authority}/oauth2/v2.0/authorize?client_id=client-1&redirect_uri=${encodeURIComponent('https://attacker.example/cb')}&response_type=code&scope=openid`;
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('location'), null);
  });

  it('answers a wrong client secret with 401 invalid_client and an unknown client with 400', async () => {
    const wrong = await post({
      grant_type: 'client_credentials',
      client_id: 'client-1',
      client_secret: 'nope',
      scope: 'https://api.partnercenter.microsoft.com/.default',
    });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');
    const unknown = await post({
      grant_type: 'client_credentials',
      client_id: 'other',
      client_secret: 'x',
      scope: 'https://api.partnercenter.microsoft.com/.default',
    });
    assert.equal(unknown.status, 400);
  });

  it('redeems an authorization code once only', async () => {
    const code = await signInCode();
    const form = {
      grant_type: 'authorization_code',
      client_id: 'client-1',
      client_secret: 's3cret',
      code,
      redirect_uri: CLIENT.redirectUris[0],
      scope: 'https://api.partner.microsoft.com/user_impersonation openid offline_access',
    };
    assert.equal((await post(form)).status, 200);
    const again = await post(form);
    assert.equal(again.status, 400);
    assert.match(((await again.json()) as { error_description: string }).error_description, /AADSTS54005/);
  });

  it('rejects tampered tokens, unknown audiences and delegated tokens without MFA', async () => {
    const app = (await (
      await post({
        grant_type: 'client_credentials',
        client_id: 'client-1',
        client_secret: 's3cret',
        scope: 'https://api.partnercenter.microsoft.com/.default',
      })
    ).json()) as { access_token: string };
    assert.equal(authority.verifyAccessToken(app.access_token)?.kind, 'app');
    const [header, payload, signature] = app.access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(
      JSON.stringify({ ...claims, aud: 'https://api.partner.microsoft.com' }),
    ).toString('base64url');
    assert.equal(authority.verifyAccessToken(`${header}.${forged}.${signature}`), null);
    assert.equal(authority.verifyAccessToken('not-a-jwt'), null);

    const graph = await post({
      grant_type: 'client_credentials',
      client_id: 'client-1',
      client_secret: 's3cret',
      scope: 'https://graph.example/.default',
    });
    assert.equal(
      authority.verifyAccessToken(((await graph.json()) as { access_token: string }).access_token),
      null,
    );

    const code = await signInCode(NO_MFA.username);
    const tokens = (await (
      await post({
        grant_type: 'authorization_code',
        client_id: 'client-1',
        client_secret: 's3cret',
        code,
        redirect_uri: CLIENT.redirectUris[0],
        scope: 'https://api.partner.microsoft.com/user_impersonation openid offline_access',
      })
    ).json()) as { access_token: string };
    assert.equal(authority.verifyAccessToken(tokens.access_token), null);
  });

  it('rejects expired tokens', async () => {
    authority.setTokenLifetimes({ accessTokenSeconds: -1 });
    try {
      const app = (await (
        await post({
          grant_type: 'client_credentials',
          client_id: 'client-1',
          client_secret: 's3cret',
          scope: 'https://api.partnercenter.microsoft.com/.default',
        })
      ).json()) as { access_token: string };
      assert.equal(authority.verifyAccessToken(app.access_token), null);
    } finally {
      authority.setTokenLifetimes({ accessTokenSeconds: 3600 });
    }
  });
});
