import { Connection } from 'jsforce';
import type { StreamPromise } from 'jsforce/lib/util/promise.js';
import type { Logger } from '../../logger.ts';
import { RelayError } from '../../errors.ts';

/**
 * A jsforce Connection authorized with the OAuth client credentials flow (a connected app that runs
 * as the integration user). Neither client credentials nor JWT bearer returns a refresh token, so
 * jsforce's default refresh cannot work: our `refreshFn` runs the client credentials flow again, and
 * jsforce replays the request that got 401 (contracts/salesforce.md §6.2).
 */

export interface SalesforceConnectionOptions {
  /** The org's My Domain URL (or the sandbox's URL); the token endpoint lives under it. */
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  /** jsforce defaults to 50.0, too old for upsert collections (46.0+); we pin a current one. */
  apiVersion?: string;
  logger: Logger;
}

export interface ApiUsage {
  used: number;
  limit: number;
}

export interface SalesforceConnection {
  readonly connection: Connection;
  /** The authorized user: the trigger's integration-user rule compares against it. */
  readonly userId: string;
  readonly username: string;
  readonly organizationId: string;
  /** REST requests this process sent through the connection (token requests excluded). */
  apiCalls(): number;
  /** How many times the session was re-authorized after it expired. */
  refreshes(): number;
  /** Gets a new session now (the Pub/Sub stream was refused with the current token). */
  reauthorize(): Promise<void>;
  /**
   * The org's daily API usage: from `/limits` (DailyApiRequests) at connect and whenever the
   * figure is older than five minutes (refreshed in the background), and from the
   * Sforce-Limit-Info header of every response in between.
   */
  limitInfo(): ApiUsage | undefined;
  /** Reads DailyApiRequests from the org's `/limits` resource now. */
  refreshLimits(): Promise<ApiUsage | undefined>;
}

/** The part of GET /limits the relay reads; older API versions send the numbers as strings. */
interface LimitsResponse {
  DailyApiRequests?: { Max?: number | string; Remaining?: number | string };
}

/** How old the usage figure may be before limitInfo() asks /limits again (one API call). */
const LIMITS_MAX_AGE_MS = 5 * 60_000;

interface TokenResponse {
  access_token: string;
  instance_url: string;
  id: string;
}

interface UserInfo {
  user_id: string;
  preferred_username: string;
  organization_id: string;
}

function authError(error: unknown): RelayError {
  const message = error instanceof Error ? error.message : String(error);
  return new RelayError('AUTH_FAILED', `Salesforce client credentials authorization failed: ${message}`, {
    cause: error,
    retryable: false,
  });
}

export async function createSalesforceConnection(
  options: SalesforceConnectionOptions,
): Promise<SalesforceConnection> {
  const logger = options.logger.child({ module: 'salesforce.connection' });
  let calls = 0;
  let refreshCount = 0;
  let lastUsage: ApiUsage | undefined;
  let usageAt = 0;
  // A refused /limits (missing permission) is not asked again before the figure would be stale.
  let limitsTriedAt = 0;
  let limitsInFlight: Promise<ApiUsage | undefined> | undefined;

  const connection = new Connection({
    version: options.apiVersion ?? '62.0',
    oauth2: { loginUrl: options.loginUrl, clientId: options.clientId, clientSecret: options.clientSecret },
    refreshFn: (conn, callback) => {
      conn.oauth2
        .requestToken({ grant_type: 'client_credentials' })
        .then((response) => {
          const token = response as unknown as TokenResponse;
          refreshCount += 1;
          // The instance can move (org migration); requests after this one use the new URL.
          if (token.instance_url) conn.instanceUrl = token.instance_url;
          logger.info({ refreshes: refreshCount }, 'salesforce session refreshed');
          callback(undefined, token.access_token, response);
        })
        .catch((error: unknown) => {
          logger.error(
            { err: error instanceof Error ? { message: error.message, name: error.name } : String(error) },
            'salesforce session refresh failed',
          );
          callback(error instanceof Error ? error : new Error(String(error)));
        });
    },
  });

  // Count every REST request and keep the usage figure: jsforce resets conn.limitInfo whenever the
  // session is re-established, and metrics should not lose the last known value.
  const request = connection.request.bind(connection);
  const countingRequest = <R = unknown>(
    req: Parameters<Connection['request']>[0],
    requestOptions?: object,
  ): StreamPromise<R> => {
    calls += 1;
    const pending = request<R>(req, requestOptions);
    const remember = (): void => {
      const usage = connection.limitInfo?.apiUsage;
      if (usage) {
        lastUsage = { used: usage.used, limit: usage.limit };
        usageAt = Date.now();
      }
    };
    pending.then(remember, remember);
    return pending;
  };
  connection.request = countingRequest;

  try {
    await connection.authorize({ grant_type: 'client_credentials' });
  } catch (error) {
    throw authError(error);
  }

  let userInfo: UserInfo;
  try {
    userInfo = await connection.request<UserInfo>(`${connection.instanceUrl}/services/oauth2/userinfo`);
  } catch (error) {
    throw authError(error);
  }
  logger.info(
    { userId: userInfo.user_id, username: userInfo.preferred_username, instanceUrl: connection.instanceUrl },
    'salesforce connection authorized',
  );

  const refreshLimits = (): Promise<ApiUsage | undefined> => {
    limitsTriedAt = Date.now();
    limitsInFlight ??= connection
      .request<LimitsResponse>('/limits')
      .then((limits) => {
        const max = Number(limits.DailyApiRequests?.Max);
        const remaining = Number(limits.DailyApiRequests?.Remaining);
        if (!Number.isFinite(max) || !Number.isFinite(remaining)) {
          logger.warn('salesforce /limits carries no DailyApiRequests');
          return lastUsage;
        }
        lastUsage = { used: Math.max(0, max - remaining), limit: max };
        usageAt = Date.now();
        return { ...lastUsage };
      })
      .finally(() => {
        limitsInFlight = undefined;
      });
    return limitsInFlight;
  };
  // The usage is known before the first record call; a user without "View Setup and
  // Configuration" cannot read /limits, which costs only this figure until a header brings it.
  await refreshLimits().catch((error: unknown) => {
    logger.warn({ err: { message: (error as Error).message } }, 'salesforce /limits could not be read');
  });

  return {
    connection,
    userId: userInfo.user_id,
    username: userInfo.preferred_username,
    organizationId: userInfo.organization_id,
    apiCalls: () => calls,
    refreshes: () => refreshCount,
    reauthorize: async () => {
      try {
        await connection.authorize({ grant_type: 'client_credentials' });
        refreshCount += 1;
      } catch (error) {
        throw authError(error);
      }
    },
    limitInfo: () => {
      if (Date.now() - Math.max(usageAt, limitsTriedAt) > LIMITS_MAX_AGE_MS && !limitsInFlight) {
        refreshLimits().catch((error: unknown) => {
          logger.debug({ err: { message: (error as Error).message } }, 'salesforce /limits refresh failed');
        });
      }
      return lastUsage && { ...lastUsage };
    },
    refreshLimits,
  };
}
