/**
 * The relay's error hierarchy. Every error carries a stable `code` (used in logs, HTTP bodies
 * and the dead-letter view) and keeps its `cause`. `retryable` tells the job runner whether
 * another attempt can succeed; `retryAfterMs` carries a server's Retry-After hint.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'MAPPING_INVALID'
  | 'SIGNATURE_INVALID'
  | 'REQUEST_INVALID'
  | 'PAYLOAD_TOO_LARGE'
  | 'PC_HTTP_ERROR'
  | 'PC_THROTTLED'
  | 'PC_UNAVAILABLE'
  | 'PC_CONFLICT'
  | 'PC_NOT_FOUND'
  | 'PC_VALIDATION'
  | 'PC_TERMINAL'
  | 'AUTH_FAILED'
  | 'TOKEN_MISSING'
  | 'SF_ERROR'
  | 'SF_LOCKED'
  | 'SF_LIMIT_EXCEEDED'
  | 'SF_INVALID_FIELD'
  | 'SF_RECORD_ERROR'
  | 'PUBSUB_ERROR'
  | 'BREAKER_OPEN'
  | 'JOB_DEFERRED'
  | 'VALIDATION_FAILED'
  | 'INTERNAL';

export interface RelayErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
  status?: number;
  details?: Record<string, unknown>;
}

export class RelayError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: RelayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RelayError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.details = options.details;
  }
}

/** A config or mapping problem: the relay must not start. `problems` lists every bad key. */
export class ConfigError extends RelayError {
  readonly problems: string[];
  constructor(
    code: 'CONFIG_INVALID' | 'MAPPING_INVALID',
    problems: string[],
    options: RelayErrorOptions = {},
  ) {
    super(
      code,
      `${code === 'CONFIG_INVALID' ? 'Invalid configuration' : 'Invalid mapping'}:\n  - ${problems.join('\n  - ')}`,
      options,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** An HTTP request the relay refuses; `status` is 400/401/413 and the message names the field or header. */
export class RequestError extends RelayError {
  constructor(
    code: 'SIGNATURE_INVALID' | 'REQUEST_INVALID' | 'PAYLOAD_TOO_LARGE',
    status: number,
    message: string,
    cause?: unknown,
  ) {
    super(code, message, { status, cause });
    this.name = 'RequestError';
  }
}

export function isRelayError(error: unknown): error is RelayError {
  return error instanceof RelayError;
}

/** A short, secret-free description of any thrown value, for logs and stored job errors. */
export function describeError(error: unknown): string {
  if (error instanceof RelayError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
