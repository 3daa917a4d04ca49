import { describeError, isRelayError } from '../errors.ts';
import type { Logger } from '../logger.ts';

export interface RetryPolicy {
  /** Extra attempts inside one job run before the error goes back to the queue. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited out in place: the queue reschedules the job. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 3,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 15_000,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `operation`, retrying transient failures (RelayError.retryable) a few times in place with
 * exponential backoff and jitter, honouring a server's Retry-After. The queue's own retry only
 * comes after these, because its backoff (seconds, growing exponentially) is far slower than a
 * 429 or a row lock usually needs.
 */
export async function withRetries<T>(
  operation: () => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isRelayError(error) || !error.retryable || attempt >= policy.retries) throw error;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      const jittered = backoff / 2 + Math.random() * (backoff / 2);
      const delay = error.retryAfterMs !== undefined ? error.retryAfterMs : jittered;
      if (delay > policy.maxRetryAfterMs) throw error;
      onRetry?.(error, attempt + 1, delay);
      await sleep(delay);
    }
  }
}

/** The retry a job runs its calls through: `what` names the call in the warning each retry logs. */
export type Retry = <T>(what: string, operation: () => Promise<T>) => Promise<T>;

/** withRetries under `policy`, logging each retry on `log`. */
export function loggedRetry(policy: RetryPolicy, log: Pick<Logger, 'warn'>): Retry {
  return (what, operation) =>
    withRetries(operation, policy, (error, attempt, delayMs) =>
      log.warn({ err: describeError(error), attempt, delayMs }, `${what} failed; retrying`),
    );
}
