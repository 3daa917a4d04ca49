import type { CircuitBreaker } from '../../breaker.ts';
import type { Logger } from '../../logger.ts';
import { describeError, RelayError } from '../../errors.ts';
import { createSalesforceConnection } from './connection.ts';
import type { SalesforceConnection } from './connection.ts';
import { createOpportunityGateway } from './opportunityGateway.ts';
import type { OpportunityGateway } from './opportunityGateway.ts';

export interface SalesforceSession {
  /** The gateway the jobs use; calls wait for (and retry) the first login. */
  gateway: OpportunityGateway;
  /** The live connection, once logged in. */
  current(): SalesforceConnection | null;
  connect(): Promise<SalesforceConnection>;
  lastError(): string | null;
}

/**
 * Logs in to Salesforce on first use rather than at start, so a relay whose Salesforce org is
 * briefly unreachable still starts, takes webhooks and reports the problem on /readyz; the jobs
 * that need Salesforce fail retryably until the login works.
 */
export interface SalesforceSessionOptions {
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  apiVersion: string;
  windowMs: number;
  maxWaitMs: number;
  deferredWindowMs: number;
  breaker?: CircuitBreaker;
  logger: Logger;
}

export function createSalesforceSession(options: SalesforceSessionOptions): SalesforceSession {
  let connection: SalesforceConnection | null = null;
  let gateway: OpportunityGateway | null = null;
  let pending: Promise<SalesforceConnection> | null = null;
  let failure: string | null = null;

  const connect = (): Promise<SalesforceConnection> => {
    if (connection) return Promise.resolve(connection);
    pending ??= createSalesforceConnection({ ...options, logger: options.logger })
      .then((c) => {
        connection = c;
        options.breaker?.setOrg(c.organizationId);
        gateway = createOpportunityGateway({
          breaker: options.breaker,
          connection: c.connection,
          windowMs: options.windowMs,
          maxWaitMs: options.maxWaitMs,
          deferredWindowMs: options.deferredWindowMs,
          logger: options.logger,
        });
        failure = null;
        return c;
      })
      .catch((error: unknown) => {
        failure = describeError(error);
        throw new RelayError('SF_ERROR', `Salesforce login failed: ${failure}`, {
          cause: error,
          retryable: true,
        });
      })
      .finally(() => {
        pending = null;
      });
    return pending;
  };

  const ready = async () => {
    await connect();
    return gateway as OpportunityGateway;
  };

  return {
    gateway: {
      readDeals: async (by, keys, fields) => (await ready()).readDeals(by, keys, fields),
      readPrimaryContacts: async (ids) => (await ready()).readPrimaryContacts(ids),
      write: async (record, writeOptions) => (await ready()).write(record, writeOptions),
      findOrCreateAccount: async (account) => (await ready()).findOrCreateAccount(account),
      stats: () => gateway?.stats() ?? { calls: {}, totalCalls: 0, recordsRead: 0, recordsWritten: 0 },
      flush: async () => gateway?.flush(),
    },
    current: () => connection,
    connect,
    lastError: () => failure,
  };
}
