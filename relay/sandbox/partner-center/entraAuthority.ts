import {
  createHash,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { sandboxTls } from './certificates.ts';

/**
 * An Entra-ID-like authority for the sandbox. It implements the slice of the Microsoft identity
 * platform v2.0 endpoints that @azure/msal-node's production code path uses, so the relay runs the
 * same MSAL calls against it as against login.microsoftonline.com:
 *
 * - MSAL refuses non-https authorities, so the server speaks TLS with a certificate from the
 *   sandbox CA; the process that talks to it trusts that CA with `trustSandboxCertificate`.
 * - MSAL is given `authorityMetadata` (the OpenID configuration) and `cloudDiscoveryMetadata`, so it
 *   makes no instance-discovery call to login.microsoftonline.com.
 * - /authorize auto-approves the sandbox user (password + MFA) and redirects with `code` and `state`.
 * - /token serves authorization_code, refresh_token and client_credentials grants, answers errors
 *   with the OAuth error JSON Entra uses, and issues RS256 JWT access tokens whose `aud` is the
 *   resource of the requested scope (two Partner Center audiences: §2 of the contract).
 */

export const REFERRALS_AUDIENCE = 'https://api.partner.microsoft.com';
export const WEBHOOKS_AUDIENCE = 'https://api.partnercenter.microsoft.com';

/** The scopes that never name a resource; Entra answers them with the id_token and refresh token. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

export interface EntraClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface EntraUser {
  username: string;
  objectId: string;
  name: string;
  /** Whether this user's sign-in satisfies MFA (default true). Partner Center rejects delegated tokens without it. */
  mfa?: boolean;
}

export interface EntraAuthorityOptions {
  port?: number;
  tenantId: string;
  clients: EntraClient[];
  users: EntraUser[];
  /** Audiences `verifyAccessToken` accepts; defaults to the two Partner Center resources. */
  audiences?: string[];
  accessTokenLifetimeSeconds?: number;
  /** Sent as `refresh_token_expires_in` so a client can warn before the refresh token dies. */
  refreshTokenLifetimeSeconds?: number;
}

export interface VerifiedAccessToken {
  kind: 'delegated' | 'app';
  audience: string;
  subject: string;
}

export interface EntraAuthorityCounters {
  authorize: number;
  tokenRequests: number;
  tokenErrors: number;
  grants: { authorization_code: number; refresh_token: number; client_credentials: number };
}

export interface EntraAuthority {
  /** https://127.0.0.1:<port> */
  url: string;
  /** `${url}/${tenantId}` — the `authority` MSAL is configured with. */
  authority: string;
  tenantId: string;
  /** JSON string for MSAL's `auth.authorityMetadata`. */
  authorityMetadata: string;
  /** JSON string for MSAL's `auth.cloudDiscoveryMetadata`. */
  cloudDiscoveryMetadata: string;
  /** For MSAL's `auth.knownAuthorities`. */
  knownAuthorities: string[];
  /**
   * PEM of the sandbox CA that issued the authority's TLS certificate (the same CA for every
   * sandbox of this process); pass it to `trustSandboxCertificate` or NODE_EXTRA_CA_CERTS.
   */
  certificatePem: string;
  verifyAccessToken(token: string): VerifiedAccessToken | null;
  /** Revokes every refresh token of the user, as a password or MFA reset does in Entra. Returns how many. */
  revokeRefreshTokens(username: string): number;
  /** Changes token lifetimes for tokens issued from now on (short lifetimes exercise refresh paths). */
  setTokenLifetimes(lifetimes: { accessTokenSeconds?: number; refreshTokenSeconds?: number }): void;
  /** Chooses the user /authorize signs in (default: the `login_hint` user, else the first user). */
  setSignInUser(username: string): void;
  counters: EntraAuthorityCounters;
  close(): Promise<void>;
}

interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  user: EntraUser;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: string | undefined;
  expiresAt: number;
  redeemed: boolean;
}

interface RefreshTokenRecord {
  clientId: string;
  user: EntraUser;
  expiresAt: number;
  revoked: boolean;
}

class OAuthError extends Error {
  readonly status: number;
  readonly error: string;
  readonly aadsts: number;
  constructor(status: number, error: string, aadsts: number, description: string) {
    super(description);
    this.status = status;
    this.error = error;
    this.aadsts = aadsts;
  }
}

const base64url = (input: Buffer | string): string => Buffer.from(input).toString('base64url');

/**
 * Adds the sandbox CA to this process's default trust store, so the global `fetch`, MSAL's
 * https client and jsforce accept the sandboxes' TLS certificates. Sandbox and tests only:
 * production trusts the system roots (plus NODE_EXTRA_CA_CERTS) and never calls this. Node's
 * fetch keeps the store it first saw, hence one CA per process (`sandboxTls`).
 */
/**
 * Entra ignores the port of a loopback redirect URI when matching it (RFC 8252 §7.3; "localhost
 * exceptions" in Microsoft's redirect URI restrictions): a native sign-in may wait on any free port.
 */
function sameRedirectUri(registered: string, requested: string): boolean {
  if (registered === requested) return true;
  try {
    const a = new URL(registered);
    const b = new URL(requested);
    const loopback = (u: URL) =>
      u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
    return (
      loopback(a) &&
      loopback(b) &&
      a.hostname === b.hostname &&
      a.pathname === b.pathname &&
      a.search === b.search
    );
  } catch {
    return false;
  }
}

export function trustSandboxCertificate(certificatePem: string): void {
  const current = getCACertificates('default');
  if (current.includes(certificatePem)) return;
  setDefaultCACertificates([...current, certificatePem]);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendOAuthError(res: ServerResponse, error: OAuthError): void {
  const traceId = randomUUID();
  sendJson(res, error.status, {
    error: error.error,
    error_description: `AADSTS${error.aadsts}: ${error.message} Trace ID: ${traceId}`,
    error_codes: [error.aadsts],
    timestamp: new Date().toISOString(),
    trace_id: traceId,
    correlation_id: randomUUID(),
  });
}

/** Splits requested scopes into the one resource they address and the permission names. */
function resourceOf(scopes: string[]): { resource: string; permissions: string[] } {
  const resourceScopes = scopes.filter((scope) => !OIDC_SCOPES.has(scope));
  if (resourceScopes.length === 0) {
    throw new OAuthError(400, 'invalid_scope', 70011, 'The provided request must include a resource scope.');
  }
  const resources = new Set<string>();
  const permissions: string[] = [];
  for (const scope of resourceScopes) {
    const slash = scope.lastIndexOf('/');
    if (!/^https:\/\//.test(scope) || slash <= 'https://'.length) {
      throw new OAuthError(
        400,
        'invalid_scope',
        70011,
        `The provided value for scope ${scope} is not valid.`,
      );
    }
    resources.add(scope.slice(0, slash));
    permissions.push(scope.slice(slash + 1));
  }
  if (resources.size > 1) {
    // Entra issues one token per resource (AADSTS28000).
    throw new OAuthError(
      400,
      'invalid_request',
      28000,
      'Provided value for the input parameter scope is not valid because it contains more than one resource.',
    );
  }
  return { resource: [...resources][0], permissions };
}

export async function createEntraAuthority(options: EntraAuthorityOptions): Promise<EntraAuthority> {
  if (options.users.length === 0) throw new Error('The Entra authority needs at least one user to sign in');
  const host = '127.0.0.1';
  const { tenantId } = options;
  const audiences = new Set(options.audiences ?? [REFERRALS_AUDIENCE, WEBHOOKS_AUDIENCE]);
  const lifetimes = {
    accessTokenSeconds: options.accessTokenLifetimeSeconds ?? 3600,
    refreshTokenSeconds: options.refreshTokenLifetimeSeconds ?? 90 * 24 * 3600,
  };
  let signInUsername: string | undefined;
  const signingKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyId = base64url(randomBytes(12));
  const publicKey: KeyObject = signingKeys.publicKey;
  const codes = new Map<string, AuthorizationCode>();
  const refreshTokens = new Map<string, RefreshTokenRecord>();
  const counters: EntraAuthorityCounters = {
    authorize: 0,
    tokenRequests: 0,
    tokenErrors: 0,
    grants: { authorization_code: 0, refresh_token: 0, client_credentials: 0 },
  };
  const tls = await sandboxTls();

  // Filled once the server listens; handlers only run after that.
  let url = '';
  const issuer = (): string => `${url}/${tenantId}/v2.0`;

  function signJwt(claims: Record<string, unknown>): string {
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: keyId }));
    const payload = base64url(JSON.stringify(claims));
    const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), signingKeys.privateKey);
    return `${header}.${payload}.${base64url(signature)}`;
  }

  function findClient(params: URLSearchParams, authorization: string | undefined): EntraClient {
    let clientId = params.get('client_id') ?? undefined;
    let secret = params.get('client_secret') ?? undefined;
    // client_secret_basic is as valid as client_secret_post.
    if (authorization?.startsWith('Basic ')) {
      const [id, pass] = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id ?? '');
      secret = decodeURIComponent(pass ?? '');
    }
    const client = options.clients.find((candidate) => candidate.clientId === clientId);
    if (!client) {
      throw new OAuthError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId ?? ''}' was not found in the directory '${tenantId}'.`,
      );
    }
    const expected = Buffer.from(client.clientSecret);
    const given = Buffer.from(secret ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new OAuthError(
        401,
        'invalid_client',
        7000215,
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
      );
    }
    return client;
  }

  function issueUserTokens(
    client: EntraClient,
    user: EntraUser,
    scopes: string[],
    nonce: string | undefined,
  ): Record<string, unknown> {
    const { resource, permissions } = resourceOf(scopes);
    const now = Math.floor(Date.now() / 1000);
    // `.default` means "every permission the app was granted"; the sandbox app holds user_impersonation,
    // and Entra reports the granted permissions (not `.default`) in the response's `scope`.
    const granted = permissions.map((permission) =>
      permission === '.default' ? 'user_impersonation' : permission,
    );
    const amr = user.mfa === false ? ['pwd'] : ['pwd', 'mfa'];
    const accessToken = signJwt({
      aud: resource,
      iss: issuer(),
      iat: now,
      nbf: now,
      exp: now + lifetimes.accessTokenSeconds,
      tid: tenantId,
      oid: user.objectId,
      sub: user.objectId,
      upn: user.username,
      preferred_username: user.username,
      name: user.name,
      azp: client.clientId,
      appid: client.clientId,
      scp: [...new Set(granted)].join(' '),
      amr,
      idtyp: 'user',
      ver: '2.0',
      uti: base64url(randomBytes(16)),
    });
    const response: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: [...new Set(granted)].map((permission) => `${resource}/${permission}`).join(' '),
      expires_in: lifetimes.accessTokenSeconds,
      ext_expires_in: lifetimes.accessTokenSeconds,
      access_token: accessToken,
    };
    if (scopes.includes('openid')) {
      response.id_token = signJwt({
        aud: client.clientId,
        iss: issuer(),
        iat: now,
        nbf: now,
        exp: now + 3600,
        tid: tenantId,
        oid: user.objectId,
        sub: user.objectId,
        name: user.name,
        preferred_username: user.username,
        ver: '2.0',
        ...(nonce === undefined ? {} : { nonce }),
      });
      // MSAL builds the account's homeAccountId from client_info (uid.utid).
      response.client_info = base64url(JSON.stringify({ uid: user.objectId, utid: tenantId }));
    }
    if (scopes.includes('offline_access')) {
      const refreshToken = `0.sandbox.${base64url(randomBytes(32))}`;
      refreshTokens.set(refreshToken, {
        clientId: client.clientId,
        user,
        expiresAt: Date.now() + lifetimes.refreshTokenSeconds * 1000,
        revoked: false,
      });
      response.refresh_token = refreshToken;
      response.refresh_token_expires_in = lifetimes.refreshTokenSeconds;
    }
    return response;
  }

  function redeemAuthorizationCode(client: EntraClient, params: URLSearchParams): Record<string, unknown> {
    const code = codes.get(params.get('code') ?? '');
    if (!code || code.clientId !== client.clientId || code.expiresAt < Date.now()) {
      throw new OAuthError(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.');
    }
    if (code.redeemed) {
      throw new OAuthError(
        400,
        'invalid_grant',
        54005,
        'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
      );
    }
    if (params.get('redirect_uri') !== code.redirectUri) {
      throw new OAuthError(
        400,
        'invalid_grant',
        50148,
        'The redirect_uri does not match the one used in the authorization request.',
      );
    }
    if (code.codeChallenge !== undefined) {
      const verifier = params.get('code_verifier') ?? '';
      const computed =
        code.codeChallengeMethod === 'S256'
          ? base64url(createHash('sha256').update(verifier).digest())
          : verifier;
      if (computed !== code.codeChallenge) {
        throw new OAuthError(
          400,
          'invalid_grant',
          501481,
          'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
        );
      }
    }
    code.redeemed = true;
    const requested = (params.get('scope') ?? '').split(' ').filter(Boolean);
    return issueUserTokens(client, code.user, requested.length > 0 ? requested : code.scopes, code.nonce);
  }

  function redeemRefreshToken(client: EntraClient, params: URLSearchParams): Record<string, unknown> {
    const record = refreshTokens.get(params.get('refresh_token') ?? '');
    if (!record || record.clientId !== client.clientId) {
      throw new OAuthError(
        400,
        'invalid_grant',
        9002313,
        'Invalid request. Request is malformed or invalid.',
      );
    }
    if (record.revoked) {
      throw new OAuthError(
        400,
        'invalid_grant',
        50173,
        'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.',
      );
    }
    if (record.expiresAt < Date.now()) {
      throw new OAuthError(400, 'invalid_grant', 700082, 'The refresh token has expired due to inactivity.');
    }
    const scopes = (params.get('scope') ?? '').split(' ').filter(Boolean);
    return issueUserTokens(client, record.user, scopes, undefined);
  }

  function issueAppToken(client: EntraClient, params: URLSearchParams): Record<string, unknown> {
    const scopes = (params.get('scope') ?? '').split(' ').filter(Boolean);
    const { resource, permissions } = resourceOf(scopes);
    if (permissions.length !== 1 || permissions[0] !== '.default') {
      throw new OAuthError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scopes.join(' ')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const now = Math.floor(Date.now() / 1000);
    // App tokens carry the service principal as subject and `roles` instead of `scp`, and no user.
    const servicePrincipalId = createHash('sha256')
      .update(`${tenantId}:${client.clientId}`)
      .digest('hex')
      .slice(0, 32);
    const accessToken = signJwt({
      aud: resource,
      iss: issuer(),
      iat: now,
      nbf: now,
      exp: now + lifetimes.accessTokenSeconds,
      tid: tenantId,
      oid: servicePrincipalId,
      sub: servicePrincipalId,
      azp: client.clientId,
      appid: client.clientId,
      roles: ['Partner.Webhooks'],
      idtyp: 'app',
      ver: '2.0',
      uti: base64url(randomBytes(16)),
    });
    return {
      token_type: 'Bearer',
      expires_in: lifetimes.accessTokenSeconds,
      ext_expires_in: lifetimes.accessTokenSeconds,
      access_token: accessToken,
    };
  }

  function authorize(requestUrl: URL, res: ServerResponse): void {
    counters.authorize += 1;
    const params = requestUrl.searchParams;
    const client = options.clients.find((candidate) => candidate.clientId === params.get('client_id'));
    const redirectUri = params.get('redirect_uri') ?? '';
    // Never redirect to an unregistered URI: that would leak the code to whoever named it.
    if (!client) {
      sendOAuthError(
        res,
        new OAuthError(
          400,
          'unauthorized_client',
          700016,
          `Application with identifier '${params.get('client_id') ?? ''}' was not found in the directory '${tenantId}'.`,
        ),
      );
      return;
    }
    if (!client.redirectUris.some((registered) => sameRedirectUri(registered, redirectUri))) {
      sendOAuthError(
        res,
        new OAuthError(
          400,
          'invalid_request',
          50011,
          `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${client.clientId}'.`,
        ),
      );
      return;
    }
    const state = params.get('state');
    const location = new URL(redirectUri);
    if (state !== null) location.searchParams.set('state', state);
    if (params.get('response_type') !== 'code') {
      location.searchParams.set('error', 'unsupported_response_type');
      location.searchParams.set('error_description', 'AADSTS70005: response_type must be code.');
      res.writeHead(302, { location: location.toString() });
      res.end();
      return;
    }
    const loginHint = params.get('login_hint');
    const user =
      options.users.find((candidate) => candidate.username === signInUsername) ??
      options.users.find((candidate) => candidate.username === loginHint) ??
      options.users[0];
    const code = `1.sandbox.${base64url(randomBytes(32))}`;
    codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      scopes: (params.get('scope') ?? '').split(' ').filter(Boolean),
      user,
      nonce: params.get('nonce') ?? undefined,
      codeChallenge: params.get('code_challenge') ?? undefined,
      codeChallengeMethod: params.get('code_challenge_method') ?? undefined,
      // Entra authorization codes live about ten minutes.
      expiresAt: Date.now() + 10 * 60_000,
      redeemed: false,
    });
    location.searchParams.set('code', code);
    res.writeHead(302, { location: location.toString() });
    res.end();
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.tokenRequests += 1;
    const params = new URLSearchParams(await readBody(req));
    try {
      const client = findClient(params, req.headers.authorization);
      const grantType = params.get('grant_type');
      let body: Record<string, unknown>;
      if (grantType === 'authorization_code') {
        counters.grants.authorization_code += 1;
        body = redeemAuthorizationCode(client, params);
      } else if (grantType === 'refresh_token') {
        counters.grants.refresh_token += 1;
        body = redeemRefreshToken(client, params);
      } else if (grantType === 'client_credentials') {
        counters.grants.client_credentials += 1;
        body = issueAppToken(client, params);
      } else {
        throw new OAuthError(
          400,
          'unsupported_grant_type',
          70003,
          `The app requested an unsupported grant type '${grantType ?? ''}'.`,
        );
      }
      sendJson(res, 200, body);
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      counters.tokenErrors += 1;
      sendOAuthError(res, error);
    }
  }

  function openIdConfiguration(): Record<string, unknown> {
    const base = `${url}/${tenantId}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: issuer(),
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${base}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'oid',
      ],
      tenant_region_scope: 'NA',
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', url);
    const prefix = `/${tenantId}`;
    const path = requestUrl.pathname.startsWith(`${prefix}/`)
      ? requestUrl.pathname.slice(prefix.length)
      : null;
    if (req.method === 'GET' && path === '/v2.0/.well-known/openid-configuration') {
      sendJson(res, 200, openIdConfiguration());
    } else if (req.method === 'GET' && path === '/discovery/v2.0/keys') {
      const jwk = publicKey.export({ format: 'jwk' });
      sendJson(res, 200, { keys: [{ kty: 'RSA', use: 'sig', kid: keyId, n: jwk.n, e: jwk.e }] });
    } else if (req.method === 'GET' && path === '/oauth2/v2.0/authorize') {
      authorize(requestUrl, res);
    } else if (req.method === 'POST' && path === '/oauth2/v2.0/token') {
      await token(req, res);
    } else if (path === null && requestUrl.pathname.endsWith('/v2.0/.well-known/openid-configuration')) {
      sendOAuthError(
        res,
        new OAuthError(
          400,
          'invalid_tenant',
          90002,
          `Tenant '${requestUrl.pathname.split('/')[1]}' not found.`,
        ),
      );
    } else {
      sendJson(res, 404, {
        error: 'not_found',
        error_description: `No route for ${req.method} ${requestUrl.pathname}`,
      });
    }
  }

  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  url = `https://${host}:${port}`;
  const hostAndPort = `${host}:${port}`;

  function verifyAccessToken(tokenValue: string): VerifiedAccessToken | null {
    const parts = tokenValue.split('.');
    if (parts.length !== 3) return null;
    try {
      const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as {
        alg?: string;
        kid?: string;
      };
      if (header.alg !== 'RS256' || header.kid !== keyId) return null;
      if (
        !verify(
          'RSA-SHA256',
          Buffer.from(`${parts[0]}.${parts[1]}`),
          publicKey,
          Buffer.from(parts[2], 'base64url'),
        )
      )
        return null;
      const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      const now = Math.floor(Date.now() / 1000);
      // Five minutes of clock skew, as Entra-protected APIs allow.
      if (typeof claims.exp !== 'number' || claims.exp <= now) return null;
      if (typeof claims.nbf === 'number' && claims.nbf > now + 300) return null;
      if (claims.iss !== issuer() || claims.tid !== tenantId) return null;
      if (typeof claims.aud !== 'string' || !audiences.has(claims.aud)) return null;
      if (typeof claims.sub !== 'string') return null;
      if (claims.idtyp === 'app' && Array.isArray(claims.roles) && claims.scp === undefined) {
        return { kind: 'app', audience: claims.aud, subject: claims.sub };
      }
      if (claims.idtyp === 'user' && typeof claims.scp === 'string') {
        // Partner Center enforces MFA for App+User calls (contract §2.1, from 2026-04-01).
        if (!Array.isArray(claims.amr) || !claims.amr.includes('mfa')) return null;
        return { kind: 'delegated', audience: claims.aud, subject: claims.sub };
      }
      return null;
    } catch {
      return null;
    }
  }

  return {
    url,
    authority: `${url}/${tenantId}`,
    tenantId,
    authorityMetadata: JSON.stringify(openIdConfiguration()),
    cloudDiscoveryMetadata: JSON.stringify({
      tenant_discovery_endpoint: `${url}/${tenantId}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: hostAndPort, preferred_cache: hostAndPort, aliases: [hostAndPort] }],
    }),
    knownAuthorities: [hostAndPort],
    certificatePem: tls.caPem,
    verifyAccessToken,
    revokeRefreshTokens(username) {
      let revoked = 0;
      for (const record of refreshTokens.values()) {
        if (record.user.username === username && !record.revoked) {
          record.revoked = true;
          revoked += 1;
        }
      }
      return revoked;
    },
    setTokenLifetimes({ accessTokenSeconds, refreshTokenSeconds }) {
      if (accessTokenSeconds !== undefined) lifetimes.accessTokenSeconds = accessTokenSeconds;
      if (refreshTokenSeconds !== undefined) lifetimes.refreshTokenSeconds = refreshTokenSeconds;
    },
    setSignInUser(username) {
      if (!options.users.some((user) => user.username === username))
        throw new Error(`Unknown sandbox user ${username}`);
      signInUsername = username;
    },
    counters,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
