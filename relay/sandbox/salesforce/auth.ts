import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SANDBOX_ORG_ID } from './users.ts';
import type { SandboxUser, UserDirectory } from './users.ts';

/**
 * OAuth 2.0 for the sandbox org: the client credentials flow (a connected app runs as its
 * configured user) and the username-password flow. Access tokens are opaque, expire after a
 * configurable time and can all be expired at once so tests can force jsforce's session refresh.
 */

export interface TokenResponse {
  access_token: string;
  instance_url: string;
  id: string;
  token_type: 'Bearer';
  issued_at: string;
  signature: string;
  scope: string;
}

export interface OAuthError {
  status: number;
  body: { error: string; error_description: string };
}

export interface Session {
  user: SandboxUser;
  clientId: string;
  expiresAt: number;
}

export interface SandboxAuth {
  /** Handles a token request's form fields; `baseUrl` is both login and instance URL. */
  token(form: Record<string, unknown>, baseUrl: string): TokenResponse | OAuthError;
  /** The session behind `Authorization: Bearer <token>`, or undefined when missing or expired. */
  session(authorization: string | undefined): Session | undefined;
  /** Expires every issued token: the next API call gets 401 INVALID_SESSION_ID. */
  expireAll(): void;
  identityUrl(baseUrl: string, user: SandboxUser): string;
}

function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function createSandboxAuth(
  users: UserDirectory,
  options: { tokenTtlMs?: number; now?: () => number } = {},
): SandboxAuth {
  // Salesforce's default session timeout is two hours.
  const ttl = options.tokenTtlMs ?? 2 * 60 * 60 * 1000;
  const now = options.now ?? Date.now;
  const sessions = new Map<string, Session>();

  const identityUrl = (baseUrl: string, user: SandboxUser): string =>
    `${baseUrl}/id/${SANDBOX_ORG_ID}/${user.id}`;

  const issue = (
    user: SandboxUser,
    clientId: string,
    clientSecret: string,
    baseUrl: string,
  ): TokenResponse => {
    // Real tokens are the org id, '!', then an opaque part; keeping the shape helps log readers.
    const accessToken = `${SANDBOX_ORG_ID.slice(0, 15)}!${randomBytes(36).toString('base64url')}`;
    const issuedAt = now();
    sessions.set(accessToken, { user, clientId, expiresAt: issuedAt + ttl });
    const id = identityUrl(baseUrl, user);
    return {
      access_token: accessToken,
      instance_url: baseUrl,
      id,
      token_type: 'Bearer',
      issued_at: String(issuedAt),
      signature: createHmac('sha256', clientSecret).update(`${id}${issuedAt}`).digest('base64'),
      scope: 'api',
    };
  };

  const fail = (error: string, description: string): OAuthError => ({
    status: 400,
    body: { error, error_description: description },
  });

  return {
    token: (form, baseUrl) => {
      const grantType = String(form.grant_type ?? '');
      const clientId = String(form.client_id ?? '');
      const clientSecret = String(form.client_secret ?? '');
      if (grantType !== 'client_credentials' && grantType !== 'password')
        return fail('unsupported_grant_type', 'grant type not supported');
      const app = users.app(clientId);
      if (!app) return fail('invalid_client_id', 'client identifier invalid');
      if (!secretsEqual(app.clientSecret, clientSecret))
        return fail('invalid_client', 'invalid client credentials');
      if (grantType === 'client_credentials') {
        const user = users.byUsername(app.runAsUsername);
        if (!user) return fail('invalid_grant', 'no client credentials user enabled');
        return issue(user, clientId, clientSecret, baseUrl);
      }
      const user = users.byUsername(String(form.username ?? ''));
      if (!user || user.password === undefined || !secretsEqual(user.password, String(form.password ?? ''))) {
        return fail('invalid_grant', 'authentication failure');
      }
      return issue(user, clientId, clientSecret, baseUrl);
    },
    session: (authorization) => {
      const match = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(authorization ?? '');
      if (!match) return undefined;
      const session = sessions.get(match[1]);
      if (!session) return undefined;
      if (session.expiresAt <= now()) {
        sessions.delete(match[1]);
        return undefined;
      }
      return session;
    },
    expireAll: () => sessions.clear(),
    identityUrl,
  };
}
