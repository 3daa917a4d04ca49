import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import {
  createEntraAuthority,
  trustSandboxCertificate,
} from '../../sandbox/partner-center/entraAuthority.ts';
import type { EntraAuthority } from '../../sandbox/partner-center/entraAuthority.ts';
import { createEntraAuth } from './entraAuth.ts';
import type { EntraAuthOptions, TokenCacheStore } from './entraAuth.ts';
import { RelayError } from '../errors.ts';
import { createLogger, silentLogger } from '../logger.ts';

const TENANT = '5b3c1e2a-0000-4000-8000-00000000c0de';
const CLIENT_ID = 'a1b2c3d4-1111-4222-8333-444455556666';
const CLIENT_SECRET = 'sandbox-client-secret-value';
const REDIRECT_URI = 'http://127.0.0.1:53682/callback';
const USER = {
  username: 'integration@contoso.example',
  objectId: '0f0e0d0c-aaaa-4bbb-8ccc-1234567890ab',
  name: 'Integration User',
};
const SECOND_USER = {
  username: 'second.admin@contoso.example',
  objectId: '1a2b3c4d-bbbb-4ccc-8ddd-0987654321fe',
  name: 'Second Admin',
};
const REFERRALS_SCOPE = 'https://api.partner.microsoft.com/user_impersonation';
const WEBHOOK_SCOPE = 'https://api.partnercenter.microsoft.com/.default';

function memoryCacheStore(): TokenCacheStore & { saved: string | null; saves: number } {
  const store = {
    saved: null as string | null,
    saves: 0,
    async load() {
      return store.saved;
    },
    async save(serialized: string) {
      store.saved = serialized;
      store.saves += 1;
    },
  };
  return store;
}

let authority: EntraAuthority;

before(async () => {
  authority = await createEntraAuthority({
    tenantId: TENANT,
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }],
    users: [USER, SECOND_USER],
  });
  trustSandboxCertificate(authority.certificatePem);
});

after(async () => {
  await authority.close();
});

function authOptions(
  cacheStore: TokenCacheStore,
  overrides: Partial<EntraAuthOptions> = {},
): EntraAuthOptions {
  return {
    authority: authority.authority,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    referralsScopes: [REFERRALS_SCOPE],
    webhookScopes: [WEBHOOK_SCOPE],
    cacheStore,
    authorityMetadata: authority.authorityMetadata,
    cloudDiscoveryMetadata: authority.cloudDiscoveryMetadata,
    knownAuthorities: authority.knownAuthorities,
    logger: silentLogger(),
    ...overrides,
  };
}

/** What a browser does: open the sign-in URL and follow it to the redirect, which carries the code. */
async function signIn(auth: ReturnType<typeof createEntraAuth>, state = 'state-123'): Promise<string> {
  const url = await auth.getAuthCodeUrl(REDIRECT_URI, state);
  const response = await fetch(url, { redirect: 'manual' });
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get('location') ?? '');
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  assert.equal(location.searchParams.get('state'), state);
  const code = location.searchParams.get('code');
  assert.ok(code, 'the redirect carries an authorization code');
  return code;
}

async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  retryable?: boolean,
): Promise<RelayError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RelayError, `expected a RelayError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (retryable !== undefined) assert.equal(error.retryable, retryable);
    return error;
  }
  assert.fail(`expected ${code}`);
}

describe('createEntraAuth against the sandbox authority', () => {
  it('signs in with an authorization code and then serves a delegated token for the referrals audience', async () => {
    const store = memoryCacheStore();
    const auth = createEntraAuth(authOptions(store));
    const code = await signIn(auth);
    const signedIn = await auth.redeemCode(code, REDIRECT_URI);
    assert.equal(signedIn.account, USER.username);
    assert.ok(store.saved, 'the token cache was persisted');

    const token = await auth.getDelegatedToken();
    assert.deepEqual(authority.verifyAccessToken(token), {
      kind: 'delegated',
      audience: 'https://api.partner.microsoft.com',
      subject: USER.objectId,
    });
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as {
      scp: string;
      amr: string[];
    };
    assert.equal(claims.scp, 'user_impersonation');
    assert.ok(claims.amr.includes('mfa'));
  });

  it('serves a delegated token after a restart from the persisted cache without a new sign-in or a token call', async () => {
    const store = memoryCacheStore();
    await createEntraAuth(authOptions(store)).redeemCode(
      await signIn(createEntraAuth(authOptions(store))),
      REDIRECT_URI,
    );
    const tokenCallsBefore = authority.counters.tokenRequests;

    const restarted = createEntraAuth(authOptions(store));
    const token = await restarted.getDelegatedToken();
    assert.equal(authority.verifyAccessToken(token)?.kind, 'delegated');
    assert.equal(
      authority.counters.tokenRequests,
      tokenCallsBefore,
      'the cached access token was still valid',
    );
    assert.deepEqual(
      { status: (await restarted.tokenHealth()).status, account: (await restarted.tokenHealth()).account },
      { status: 'ok', account: USER.username },
    );
  });

  it('refreshes an expired access token with the cached refresh token, once for concurrent callers', async () => {
    const store = memoryCacheStore();
    // Shorter than MSAL's five-minute renewal offset: every cached access token counts as expired.
    authority.setTokenLifetimes({ accessTokenSeconds: 120 });
    try {
      const auth = createEntraAuth(authOptions(store));
      await auth.redeemCode(await signIn(auth), REDIRECT_URI);
      const refreshesBefore = authority.counters.grants.refresh_token;
      const tokens = await Promise.all([
        auth.getDelegatedToken(),
        auth.getDelegatedToken(),
        auth.getDelegatedToken(),
      ]);
      assert.equal(new Set(tokens).size, 1);
      assert.equal(authority.counters.grants.refresh_token, refreshesBefore + 1);
      assert.equal(authority.verifyAccessToken(tokens[0])?.kind, 'delegated');
    } finally {
      authority.setTokenLifetimes({ accessTokenSeconds: 3600 });
    }
  });

  it('gets an app-only token for the webhook API audience with client credentials', async () => {
    const auth = createEntraAuth(authOptions(memoryCacheStore()));
    const token = await auth.getAppToken();
    assert.deepEqual(authority.verifyAccessToken(token), {
      kind: 'app',
      audience: 'https://api.partnercenter.microsoft.com',
      subject: authority.verifyAccessToken(token)?.subject,
    });
    assert.notEqual(authority.verifyAccessToken(token)?.subject, USER.objectId);
  });

  it('fails an app-only token request with a wrong client secret as AUTH_FAILED without echoing the secret', async () => {
    const wrongSecret = 'definitely-not-the-secret';
    const auth = createEntraAuth(authOptions(memoryCacheStore(), { clientSecret: wrongSecret }));
    const error = await rejectsWith(auth.getAppToken(), 'AUTH_FAILED', false);
    assert.match(error.message, /AADSTS7000215/);
    assert.ok(!error.message.includes(wrongSecret));
  });

  it('reports TOKEN_MISSING and health "missing" when nobody has signed in', async () => {
    const auth = createEntraAuth(authOptions(memoryCacheStore()));
    const error = await rejectsWith(auth.getDelegatedToken(), 'TOKEN_MISSING', false);
    assert.match(error.message, /relay login/);
    const health = await auth.tokenHealth();
    assert.equal(health.status, 'missing');
  });

  it('turns a revoked refresh token into AUTH_FAILED (not retryable) and health "failed", logging no token', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString('utf8'));
          callback();
        },
      }),
    });
    const store = memoryCacheStore();
    const auth = createEntraAuth(authOptions(store, { logger }));
    await auth.redeemCode(await signIn(auth), REDIRECT_URI);
    assert.equal((await auth.tokenHealth()).status, 'ok');

    assert.ok(authority.revokeRefreshTokens(USER.username) > 0);
    // A fresh process (empty in-memory state) must prove the refresh token, which is now revoked.
    const restarted = createEntraAuth(authOptions(store, { logger, healthRefreshIntervalMs: 0 }));
    const health = await restarted.tokenHealth();
    assert.equal(health.status, 'failed');
    assert.equal(health.account, USER.username);
    assert.match(health.detail ?? '', /AADSTS50173/);

    // The access token cached at sign-in is still valid, so syncs keep working until it expires…
    const restartedAgain = createEntraAuth(authOptions(store, { logger }));
    assert.ok(authority.verifyAccessToken(await restartedAgain.getDelegatedToken()));
    assert.ok(health.expiresOn, 'health says until when the current token works');
    // …and once it has expired, the refresh is refused.
    const expiredStore = memoryCacheStore();
    authority.setTokenLifetimes({ accessTokenSeconds: 120 });
    try {
      const shortLived = createEntraAuth(authOptions(expiredStore, { logger }));
      await shortLived.redeemCode(await signIn(shortLived), REDIRECT_URI);
      authority.revokeRefreshTokens(USER.username);
      const error = await rejectsWith(
        createEntraAuth(authOptions(expiredStore, { logger })).getDelegatedToken(),
        'AUTH_FAILED',
        false,
      );
      assert.match(error.message, /relay login/);
      assert.match(error.message, /AADSTS50173/);
    } finally {
      authority.setTokenLifetimes({ accessTokenSeconds: 3600 });
    }
    const secrets = [store, expiredStore].flatMap((cacheStore) => {
      const cache = JSON.parse(cacheStore.saved ?? '{}') as {
        RefreshToken: Record<string, { secret: string }>;
        AccessToken: Record<string, { secret: string }>;
      };
      return [...Object.values(cache.RefreshToken), ...Object.values(cache.AccessToken)].map(
        (entry) => entry.secret,
      );
    });
    assert.ok(secrets.length >= 4);
    const logged = lines.join('');
    assert.ok(logged.includes('delegated token refresh failed'));
    for (const secret of secrets) assert.ok(!logged.includes(secret), 'no token in the logs');
    assert.ok(!logged.includes(CLIENT_SECRET));
  });

  it('reports "expiring" with the deadline when Entra is unreachable but the cached token still works', async () => {
    const store = memoryCacheStore();
    const shortLivedAuthority = await createEntraAuthority({
      tenantId: TENANT,
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] }],
      users: [USER],
    });
    // Each authority in this process serves the same sandbox TLS identity, already trusted.
    assert.equal(shortLivedAuthority.certificatePem, authority.certificatePem);
    const options = (cacheStore: TokenCacheStore) =>
      authOptions(cacheStore, {
        authority: shortLivedAuthority.authority,
        authorityMetadata: shortLivedAuthority.authorityMetadata,
        cloudDiscoveryMetadata: shortLivedAuthority.cloudDiscoveryMetadata,
        knownAuthorities: shortLivedAuthority.knownAuthorities,
        healthRefreshIntervalMs: 0,
      });
    const auth = createEntraAuth(options(store));
    const url = await auth.getAuthCodeUrl(REDIRECT_URI, 's');
    const code =
      new URL((await fetch(url, { redirect: 'manual' })).headers.get('location') ?? '').searchParams.get(
        'code',
      ) ?? '';
    await auth.redeemCode(code, REDIRECT_URI);
    await shortLivedAuthority.close();

    const restarted = createEntraAuth(options(store));
    const health = await restarted.tokenHealth();
    assert.equal(health.status, 'expiring');
    assert.equal(health.account, USER.username);
    assert.ok(health.expiresOn && Date.parse(health.expiresOn) > Date.now());
    // The relay keeps syncing on the cached token meanwhile.
    assert.ok(await restarted.getDelegatedToken());
  });

  it('makes one token request for 50 concurrent health checks while Entra refuses the refresh, and none for checks right after', async () => {
    const store = memoryCacheStore();
    const auth = createEntraAuth(authOptions(store));
    await auth.redeemCode(await signIn(auth), REDIRECT_URI);
    assert.ok(authority.revokeRefreshTokens(USER.username) > 0);
    // A restarted relay has not proven the refresh token yet, so its first check must refresh.
    const restarted = createEntraAuth(authOptions(store, { refreshRetryMs: 60_000 }));
    const before = authority.counters.tokenRequests;
    const healths = await Promise.all(Array.from({ length: 50 }, () => restarted.tokenHealth()));
    assert.deepEqual(new Set(healths.map((h) => h.status)), new Set(['failed']));
    assert.match(healths[0].detail ?? '', /AADSTS50173/);
    assert.equal(authority.counters.tokenRequests - before, 1);
    for (let i = 0; i < 10; i++) assert.equal((await restarted.tokenHealth()).status, 'failed');
    assert.equal(authority.counters.tokenRequests - before, 1, 'later checks are answered from memory');
    // Syncs keep using the access token cached at sign-in meanwhile.
    assert.ok(authority.verifyAccessToken(await restarted.getDelegatedToken()));
  });

  it('acts for the second user after a sign-in as another user', async () => {
    const store = memoryCacheStore();
    const auth = createEntraAuth(authOptions(store));
    await auth.redeemCode(await signIn(auth), REDIRECT_URI);
    authority.setSignInUser(SECOND_USER.username);
    try {
      const again = createEntraAuth(authOptions(store));
      const signedIn = await again.redeemCode(await signIn(again), REDIRECT_URI);
      assert.equal(signedIn.account, SECOND_USER.username);
      assert.deepEqual(signedIn.replaced, [USER.username]);
    } finally {
      authority.setSignInUser(USER.username);
    }
    // A relay started afterwards reads the stored cache: every delegated call is the second user's.
    const relay = createEntraAuth(authOptions(store));
    assert.equal(authority.verifyAccessToken(await relay.getDelegatedToken())?.subject, SECOND_USER.objectId);
    assert.equal((await relay.tokenHealth()).account, SECOND_USER.username);
  });
});
