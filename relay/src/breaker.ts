import { RelayError } from './errors.ts';
import type { Logger } from './logger.ts';

/**
 * Circuit breakers for the two clouds. When Salesforce answers REQUEST_LIMIT_EXCEEDED (the org's
 * rolling 24-hour API allocation is spent) or Partner Center answers 429, every further call fails
 * the same way for a while: calling on only spends more of the allocation and the jobs' attempts.
 * A breaker opens on such an answer, fails calls at once with BREAKER_OPEN (jobs put themselves
 * back in the queue until then, without spending an attempt: jobs/recordJob.ts), and after the
 * server's Retry-After, or a probe delay doubling from `minProbeMs` to `maxProbeMs`, lets exactly one
 * call through as a probe. Calls arriving meanwhile wait for the probe's verdict. The probe's
 * success closes the breaker; another limit answer reopens it with the next delay.
 */

export interface BreakerStatus {
  /** e.g. `salesforce` or `partner-center`. */
  name: string;
  /** Whose allocation: the Salesforce org id, the Partner Center tenant, when known. */
  org: string | null;
  state: 'closed' | 'open' | 'probing';
  /** The answer that opened it, e.g. `REQUEST_LIMIT_EXCEEDED (api-usage 15000/15000)`. */
  reason: string | null;
  openedAt: string | null;
  /** When the next probe may go. */
  retryAt: string | null;
  /** Calls refused without reaching the service since it opened. */
  refused: number;
  /** Calls let through as probes since it opened. */
  probes: number;
}

/** The verdict on a failed call: null when the failure says nothing about the service's allowance. */
export type BreakerVerdict = { reason: string; retryAfterMs?: number } | null;

export interface CircuitBreaker {
  readonly name: string;
  run<T>(call: () => Promise<T>): Promise<T>;
  status(): BreakerStatus;
  /** When a call may next reach the service; null when closed. */
  retryAt(): Date | null;
  setOrg(org: string): void;
}

export interface BreakerOptions {
  name: string;
  /** Words for messages, e.g. "Salesforce". */
  label: string;
  classify(error: unknown): BreakerVerdict;
  minProbeMs: number;
  maxProbeMs: number;
  logger: Logger;
  onChange?(status: BreakerStatus): void;
  now?: () => number;
}

export function createCircuitBreaker(options: BreakerOptions): CircuitBreaker {
  const now = options.now ?? Date.now;
  let org: string | null = null;
  let open = false;
  let reason: string | null = null;
  let openedAt = 0;
  let retryAtMs = 0;
  let delayMs = options.minProbeMs;
  let refused = 0;
  let probes = 0;
  let probe: Promise<unknown> | null = null;

  const status = (): BreakerStatus => ({
    name: options.name,
    org,
    state: !open ? 'closed' : probe ? 'probing' : 'open',
    reason: open ? reason : null,
    openedAt: open ? new Date(openedAt).toISOString() : null,
    retryAt: open ? new Date(retryAtMs).toISOString() : null,
    refused: open ? refused : 0,
    probes: open ? probes : 0,
  });

  const trip = (verdict: NonNullable<BreakerVerdict>, fromProbe: boolean): void => {
    const wasOpen = open;
    if (fromProbe) delayMs = Math.min(options.maxProbeMs, delayMs * 2);
    const wait = verdict.retryAfterMs ?? delayMs;
    retryAtMs = Math.max(retryAtMs, now() + wait);
    reason = verdict.reason;
    if (!wasOpen) {
      open = true;
      openedAt = now();
      refused = 0;
      probes = 0;
      options.logger.warn(
        { breaker: options.name, org, reason, retryAt: new Date(retryAtMs).toISOString() },
        `${options.label} calls paused`,
      );
      options.onChange?.(status());
    }
  };

  const close = (): void => {
    if (!open) return;
    const was = status();
    open = false;
    delayMs = options.minProbeMs;
    options.logger.info(
      { breaker: options.name, org, openedAt: was.openedAt, refused },
      `${options.label} calls resumed`,
    );
    options.onChange?.(status());
  };

  const attempt = async <T>(call: () => Promise<T>, isProbe: boolean): Promise<T> => {
    try {
      const value = await call();
      close();
      return value;
    } catch (error) {
      const verdict = options.classify(error);
      if (verdict) trip(verdict, isProbe);
      // Any other answer to the probe means the service is taking calls again.
      else if (isProbe) close();
      throw error;
    }
  };

  return {
    name: options.name,
    async run(call) {
      for (;;) {
        if (!open) return attempt(call, false);
        if (probe) {
          await probe.catch(() => undefined);
          continue;
        }
        const left = retryAtMs - now();
        if (left > 0) {
          refused += 1;
          throw new RelayError(
            'BREAKER_OPEN',
            `${options.label} calls are paused until ${new Date(retryAtMs).toISOString()}: ${reason ?? 'limit reached'}`,
            { retryable: false, retryAfterMs: left, details: { breaker: options.name } },
          );
        }
        probes += 1;
        const pending = attempt(call, true);
        probe = pending;
        try {
          return await pending;
        } finally {
          probe = null;
        }
      }
    },
    status,
    retryAt: () => (open ? new Date(retryAtMs) : null),
    setOrg: (value) => {
      org = value;
    },
  };
}

/**
 * Errors that mean "the service refuses calls for now", not "this job failed": the job waits for
 * the breaker instead of spending an attempt.
 */
export function isOutageError(error: unknown): error is RelayError {
  return (
    error instanceof RelayError &&
    (error.code === 'BREAKER_OPEN' || error.code === 'SF_LIMIT_EXCEEDED' || error.code === 'PC_THROTTLED')
  );
}
