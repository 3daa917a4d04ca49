import {
  AuthError,
  ConfidentialClientApplication,
  InteractionRequiredAuthError,
  LogLevel,
  ServerError,
} from '@azure/msal-node';
import type { AccountInfo, AuthenticationResult, ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import { RelayError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/**
 * Entra ID tokens for Partner Center, through @azure/msal-node.
 *
 * The Referrals API takes only delegated (App+User) tokens and Partner Center enforces MFA, so a
 * person signs in once (`relay login`, authorization code flow) and the relay lives on the refresh
 * token in MSAL's cache, which `cacheStore` persists (encrypted in Postgres in production). The
 * webhook registration API takes app-only tokens (client credentials). Contract §2.
 *
 * A delegated refresh token dies with its user's password or MFA reset, and Entra does not say when
 * it will expire. So `tokenHealth` proves the refresh token still works at least every
 * `healthRefreshIntervalMs` (a forced refresh): /readyz and the dashboard show `failed` while the
 * cached access token still works, instead of a sync discovering it up to an hour later. `expiring`
 * means the refresh could not be proven for a transient reason (Entra unreachable) while the
 * cached access token still works until `expiresOn`.
 *
 * `tokenHealth` is what unauthenticated readiness probes end up calling, so it is single-flight
 * (concurrent callers share one check) and a failed proof is not retried for `refreshRetryMs`:
 * however many probes arrive while Entra fails, it sees one token request per interval.
 */

export interface TokenCacheStore {
  load(): Promise<string | null>;
  save(serialized: string): Promise<void>;
}

export interface EntraAuthOptions {
  /** e.g. https://login.microsoftonline.com/<tenant id> */
  authority: string;
  clientId: string;
  clientSecret: string;
  /** Delegated scopes for the Referrals API, e.g. ['https://api.partner.microsoft.com/user_impersonation']. */
  referralsScopes: string[];
  /** App-only scopes for the webhook API: ['https://api.partnercenter.microsoft.com/.default']. */
  webhookScopes: string[];
  cacheStore: TokenCacheStore;
  /** OpenID configuration as a JSON string; with it (and the next two) MSAL never calls instance discovery. */
  authorityMetadata?: string;
  cloudDiscoveryMetadata?: string;
  knownAuthorities?: string[];
  logger: Logger;
  /** How stale the last proof that the refresh token works may be before `tokenHealth` refreshes. */
  healthRefreshIntervalMs?: number;
  /**
   * After a refresh that went to Entra failed, how long the same kind of refresh is not tried again
   * (the failure is answered from memory). Probes and jobs would otherwise each ask Entra again.
   */
  refreshRetryMs?: number;
}

export type TokenHealthStatus = 'ok' | 'missing' | 'expiring' | 'failed';

export interface TokenHealth {
  status: TokenHealthStatus;
  /** The signed-in user (UPN) whose delegated token the relay uses. */
  account?: string;
  /** When the current delegated access token expires (ISO 8601). */
  expiresOn?: string;
  detail?: string;
}

export interface SignInResult {
  account: string;
  expiresOn?: string;
  /** Accounts whose sign-in this one replaced. */
  replaced: string[];
}

export interface EntraAuth {
  /** URL to open in a browser for the one-time delegated sign-in. */
  getAuthCodeUrl(redirectUri: string, state: string): Promise<string>;
  /** Redeems the code the redirect brought back; the refresh token lands in the persisted cache. */
  redeemCode(code: string, redirectUri: string): Promise<SignInResult>;
  getDelegatedToken(): Promise<string>;
  getAppToken(): Promise<string>;
  tokenHealth(): Promise<TokenHealth>;
}

const LOGIN_HINT = 'run `relay login` to sign in to Partner Center again';

// OpenID scopes MSAL adds to every delegated request anyway; offline_access is what yields a refresh token.
const OFFLINE_ACCESS = 'offline_access';

/** AADSTS numbers are safe to log and say exactly what Entra refused. */
function aadstsOf(error: AuthError): string | undefined {
  return /AADSTS\d+/.exec(error.errorMessage)?.[0];
}

/**
 * Turns an MSAL failure into a RelayError whose message holds no token, secret or server-echoed
 * request: only the OAuth error code, the AADSTS number and what the operator should do.
 */
function toRelayError(error: unknown, action: string): RelayError {
  if (error instanceof RelayError) return error;
  if (error instanceof AuthError) {
    const aadsts = aadstsOf(error);
    const code = [error.errorCode, aadsts].filter(Boolean).join(' ');
    if (error.errorCode === 'no_tokens_found' || error.errorCode === 'no_account_in_silent_request') {
      return new RelayError(
        'TOKEN_MISSING',
        `No delegated Partner Center token is cached (${code}); ${LOGIN_HINT}`,
        { cause: error },
      );
    }
    if (error.errorCode === 'invalid_client' || error.errorCode === 'unauthorized_client') {
      return new RelayError(
        'AUTH_FAILED',
        `Entra rejected the relay's app credentials while trying to ${action} (${code}); check the client id and secret`,
        { cause: error },
      );
    }
    if (
      error instanceof InteractionRequiredAuthError ||
      (error instanceof ServerError && error.errorCode === 'invalid_grant')
    ) {
      return new RelayError(
        'AUTH_FAILED',
        `Entra refused the delegated refresh token while trying to ${action} (${code}); it was revoked or expired, e.g. by a password or MFA reset; ${LOGIN_HINT}`,
        {
          cause: error,
        },
      );
    }
    if (error instanceof ServerError) {
      // Any other answer from Entra (server_error, temporarily_unavailable…) may pass on its own.
      return new RelayError('AUTH_FAILED', `Entra could not ${action} (${code})`, {
        cause: error,
        retryable: true,
      });
    }
    // ClientAuthError: network failures, timeouts, unparsable responses — transient from our side.
    return new RelayError('AUTH_FAILED', `Could not reach Entra to ${action} (${code})`, {
      cause: error,
      retryable: true,
    });
  }
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new RelayError('AUTH_FAILED', `Unexpected failure while trying to ${action}${detail}`, {
    cause: error,
    retryable: true,
  });
}

export function createEntraAuth(options: EntraAuthOptions): EntraAuth {
  const logger = options.logger.child({ module: 'entraAuth' });
  const healthRefreshIntervalMs = options.healthRefreshIntervalMs ?? 15 * 60_000;
  const refreshRetryMs = options.refreshRetryMs ?? 30_000;
  const delegatedScopes = options.referralsScopes;

  const cachePlugin: ICachePlugin = {
    async beforeCacheAccess(context: TokenCacheContext) {
      // Reload on every access: other relay instances share the stored cache and may have refreshed it.
      const serialized = await options.cacheStore.load();
      if (serialized) context.tokenCache.deserialize(serialized);
    },
    async afterCacheAccess(context: TokenCacheContext) {
      if (context.cacheHasChanged) await options.cacheStore.save(context.tokenCache.serialize());
    },
  };

  const msal = new ConfidentialClientApplication({
    auth: {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      authority: options.authority,
      ...(options.authorityMetadata === undefined ? {} : { authorityMetadata: options.authorityMetadata }),
      ...(options.cloudDiscoveryMetadata === undefined
        ? {}
        : { cloudDiscoveryMetadata: options.cloudDiscoveryMetadata }),
      ...(options.knownAuthorities === undefined ? {} : { knownAuthorities: options.knownAuthorities }),
    },
    cache: { cachePlugin },
    system: {
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback(level, message) {
          if (level === LogLevel.Error) logger.error({ msal: message }, 'msal error');
          // MSAL says this for every app-only (client credentials) token: those carry no account.
          else if (level === LogLevel.Warning && message.includes('No client info in response'))
            logger.debug({ msal: message }, 'msal warning');
          else if (level === LogLevel.Warning) logger.warn({ msal: message }, 'msal warning');
        },
      },
    },
  });

  // When the refresh token was last shown to work (a token came from the network, not the cache).
  let refreshProvenAt = 0;
  // Concurrent callers share one silent acquisition, so an expired access token costs one refresh.
  let inflight: Promise<{ account: AccountInfo; result: AuthenticationResult }> | null = null;
  // The last failed acquisition that went to Entra, per kind (silent, forced), repeated from memory
  // for `refreshRetryMs`. A silent acquisition only goes to Entra when the cache cannot serve it, so
  // repeating its failure never hides a usable cached token.
  const lastFailure: Record<'silent' | 'forced', { at: number; error: RelayError } | null> = {
    silent: null,
    forced: null,
  };
  let healthInflight: Promise<TokenHealth> | null = null;
  let lastFailedProof: { at: number; health: TokenHealth } | null = null;
  const recent = (failure: { at: number } | null): boolean =>
    failure !== null && Date.now() - failure.at < refreshRetryMs;
  const forgetFailures = (): void => {
    lastFailure.silent = null;
    lastFailure.forced = null;
    lastFailedProof = null;
  };

  async function cachedAccount(): Promise<AccountInfo> {
    const accounts = await msal.getTokenCache().getAllAccounts();
    if (accounts.length === 0) {
      throw new RelayError('TOKEN_MISSING', `No delegated Partner Center sign-in is stored; ${LOGIN_HINT}`);
    }
    if (accounts.length > 1) {
      logger.warn({ accounts: accounts.length }, 'several delegated accounts are cached; using the first');
    }
    return accounts[0];
  }

  function acquireDelegated(
    forceRefresh: boolean,
  ): Promise<{ account: AccountInfo; result: AuthenticationResult }> {
    if (inflight && !forceRefresh) return inflight;
    const kind = forceRefresh ? 'forced' : 'silent';
    const attempt = (async () => {
      const account = await cachedAccount();
      const failed = lastFailure[kind];
      if (failed && recent(failed)) throw failed.error;
      let result: AuthenticationResult | null;
      try {
        result = await msal.acquireTokenSilent({ account, scopes: delegatedScopes, forceRefresh });
      } catch (error) {
        const relayError = toRelayError(error, 'refresh the delegated token');
        lastFailure[kind] = { at: Date.now(), error: relayError };
        logger.error(
          {
            code: relayError.code,
            retryable: relayError.retryable,
            account: account.username,
            reason: relayError.message,
          },
          'delegated token refresh failed',
        );
        throw relayError;
      }
      if (!result?.accessToken) {
        throw new RelayError('AUTH_FAILED', `Entra returned no delegated access token; ${LOGIN_HINT}`);
      }
      if (!result.fromCache) {
        refreshProvenAt = Date.now();
        forgetFailures();
      }
      return { account, result };
    })();
    if (!forceRefresh) {
      inflight = attempt;
      const clear = () => {
        if (inflight === attempt) inflight = null;
      };
      attempt.then(clear, clear);
    }
    return attempt;
  }

  /**
   * When the cached delegated access token expires, read from the cache itself: asking MSAL would
   * go to Entra once more when the token is already expired, after a proof that just failed.
   */
  function cachedAccessTokenExpiry(account: AccountInfo): Date | undefined {
    let entries: Array<{ home_account_id?: string; target?: string; expires_on?: string }>;
    try {
      const cache = JSON.parse(msal.getTokenCache().serialize()) as {
        AccessToken?: Record<string, { home_account_id?: string; target?: string; expires_on?: string }>;
      };
      entries = Object.values(cache.AccessToken ?? {});
    } catch {
      return undefined;
    }
    const wanted = delegatedScopes.map((scope) => scope.toLowerCase());
    let latest = 0;
    for (const entry of entries) {
      if (entry.home_account_id !== account.homeAccountId) continue;
      const granted = new Set((entry.target ?? '').toLowerCase().split(' '));
      if (!wanted.every((scope) => granted.has(scope))) continue;
      latest = Math.max(latest, Number(entry.expires_on ?? 0) * 1000);
    }
    return latest > Date.now() ? new Date(latest) : undefined;
  }

  async function checkHealth(): Promise<TokenHealth> {
    const proveRefresh = Date.now() - refreshProvenAt > healthRefreshIntervalMs;
    // A proof that failed a moment ago would fail again: answer from memory until it may be retried.
    if (proveRefresh && lastFailedProof && recent(lastFailedProof)) return lastFailedProof.health;
    let acquired: { account: AccountInfo; result: AuthenticationResult };
    try {
      acquired = await acquireDelegated(proveRefresh);
    } catch (error) {
      const relayError = toRelayError(error, 'check the delegated token');
      if (relayError.code === 'TOKEN_MISSING') return { status: 'missing', detail: relayError.message };
      let account: string | undefined;
      let expiresOn: string | undefined;
      try {
        const cached = await cachedAccount();
        account = cached.username;
        // A cached access token may outlive a failed refresh: syncs keep working until it expires.
        if (proveRefresh) expiresOn = cachedAccessTokenExpiry(cached)?.toISOString();
      } catch {
        // Nothing usable is cached: syncs fail now, which `failed` already says.
      }
      // A transient failure with a token still in hand is a warning; a refused refresh token is not.
      const status = relayError.retryable && expiresOn !== undefined ? 'expiring' : 'failed';
      const health: TokenHealth = {
        status,
        ...(account === undefined ? {} : { account }),
        ...(expiresOn === undefined ? {} : { expiresOn }),
        detail:
          status === 'expiring'
            ? `${relayError.message}; the current token works until ${expiresOn}`
            : relayError.message,
      };
      if (proveRefresh) lastFailedProof = { at: Date.now(), health };
      return health;
    }
    const { account, result } = acquired;
    return { status: 'ok', account: account.username, expiresOn: result.expiresOn?.toISOString() };
  }

  return {
    async getAuthCodeUrl(redirectUri, state) {
      try {
        return await msal.getAuthCodeUrl({
          scopes: [...delegatedScopes, OFFLINE_ACCESS],
          redirectUri,
          state,
        });
      } catch (error) {
        throw toRelayError(error, 'build the sign-in URL');
      }
    },

    async redeemCode(code, redirectUri) {
      let result: AuthenticationResult | null;
      try {
        result = await msal.acquireTokenByCode({
          code,
          redirectUri,
          scopes: [...delegatedScopes, OFFLINE_ACCESS],
        });
      } catch (error) {
        throw toRelayError(error, 'redeem the sign-in code');
      }
      if (!result?.account)
        throw new RelayError('AUTH_FAILED', 'Entra returned no account for the sign-in code; sign in again');
      // Signing in as another user replaces the previous one: the relay acts for whoever signed in
      // last, not for whichever account MSAL happens to list first.
      const signedIn = result.account;
      const cache = msal.getTokenCache();
      const replaced: string[] = [];
      for (const other of await cache.getAllAccounts()) {
        if (other.homeAccountId === signedIn.homeAccountId) continue;
        await cache.removeAccount(other);
        replaced.push(other.username);
      }
      refreshProvenAt = Date.now();
      forgetFailures();
      logger.info({ account: result.account.username }, 'delegated sign-in stored');
      return { account: result.account.username, expiresOn: result.expiresOn?.toISOString(), replaced };
    },

    async getDelegatedToken() {
      const { result } = await acquireDelegated(false);
      return result.accessToken;
    },

    async getAppToken() {
      let result: AuthenticationResult | null;
      try {
        result = await msal.acquireTokenByClientCredential({ scopes: options.webhookScopes });
      } catch (error) {
        throw toRelayError(error, 'get an app-only token');
      }
      if (!result?.accessToken)
        throw new RelayError('AUTH_FAILED', 'Entra returned no app-only access token', { retryable: true });
      return result.accessToken;
    },

    tokenHealth() {
      healthInflight ??= checkHealth().finally(() => {
        healthInflight = null;
      });
      return healthInflight;
    },
  };
}

/** EntraAuth for the relay's Partner Center settings (the relay, `relay login` and `relay webhooks` share it). */
export function entraAuthFromSettings(
  settings: Pick<
    EntraAuthOptions,
    | 'authority'
    | 'clientId'
    | 'clientSecret'
    | 'referralsScopes'
    | 'webhookScopes'
    | 'authorityMetadata'
    | 'cloudDiscoveryMetadata'
    | 'knownAuthorities'
  >,
  cacheStore: TokenCacheStore,
  logger: Logger,
): EntraAuth {
  return createEntraAuth({
    authority: settings.authority,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    referralsScopes: settings.referralsScopes,
    webhookScopes: settings.webhookScopes,
    authorityMetadata: settings.authorityMetadata,
    cloudDiscoveryMetadata: settings.cloudDiscoveryMetadata,
    knownAuthorities: settings.knownAuthorities,
    cacheStore,
    logger,
  });
}
