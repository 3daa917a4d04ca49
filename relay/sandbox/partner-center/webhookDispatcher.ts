import { randomUUID, sign } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { STATUS_CODES } from 'node:http';
import type { SandboxPki, SigningIdentityName } from './certificates.ts';

/**
 * Webhook registration state and signed delivery, as Partner Center does it (contract §3):
 * one registration per tenant, the §3.3 payload, an RSA PKCS#1 v1.5 SHA-256 signature over the
 * exact body bytes in `Authorization: Signature …` (or `x-ms-signature` when the registration
 * asks), up to 10 attempts and then the event is dropped for good.
 */

export const REFERRAL_EVENTS = [
  'referral-created',
  'referral-updated',
  'related-referral-created',
  'related-referral-updated',
];
export const SUPPORTED_EVENTS = [...REFERRAL_EVENTS, 'test-created'];

export interface WebhookRegistration {
  subscriberId: string;
  webhookUrl: string;
  webhookEvents: string[];
  signatureTokenToMsSignatureHeader: boolean;
  lastModifiedTimestamp: string;
}

export interface DeliveryAttempt {
  attempt: number;
  /** When the attempt started (ISO). */
  at: string;
  /** HTTP status of the answer, or null when the request failed before one arrived. */
  status: number | null;
  /** Network error or timeout, when there was no answer. */
  error: string | null;
  ok: boolean;
  durationMs: number;
  responseBody: string;
}

export interface DeliveryRecord {
  id: string;
  eventName: string;
  resourceUri: string;
  /** For test-created events: the correlation id returned by POST validationEvents. */
  correlationId: string | null;
  url: string;
  /** The exact bytes sent (and signed). */
  body: string;
  headers: Record<string, string>;
  signingIdentity: SigningIdentityName;
  /** pending → delivered | dropped (10 failed attempts) | lost (fault: never sent). */
  state: 'pending' | 'delivered' | 'dropped' | 'lost';
  attempts: DeliveryAttempt[];
}

export interface WebhookDispatcherOptions {
  pki: SandboxPki;
  certificateBaseUrl: () => string;
  maxAttempts: number;
  backoffMs: (failedAttempts: number) => number;
  timeoutMs: number;
  /** `prefixed` sends `x-ms-signature: Signature <b64>` (what Microsoft's sample parses); `bare` sends only the base64. */
  msSignatureHeaderFormat: 'prefixed' | 'bare';
  shouldLose: () => boolean;
}

export interface WebhookDispatcher {
  registration(): WebhookRegistration | undefined;
  register(registration: WebhookRegistration): void;
  signingIdentity(): SigningIdentityName;
  setSigningIdentity(name: SigningIdentityName): void;
  /** Queues a delivery when the registration includes `eventName`; never waits for it. */
  publish(event: {
    eventName: string;
    resourceName: string;
    resourceUri: string;
    changedAt: string;
    correlationId?: string;
  }): DeliveryRecord | undefined;
  records(): DeliveryRecord[];
  byCorrelationId(correlationId: string): DeliveryRecord | undefined;
  clear(): void;
  close(): void;
}

/** `2019-02-23T02:05:23.2931817Z` → `2019-02-23T02:05:23.2931817+00:00`, the §3.3 form. */
function toChangeDate(stamp: string): string {
  const match = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(stamp);
  if (!match) return stamp;
  return `${match[1]}.${(match[2] ?? '').padEnd(7, '0').slice(0, 7)}+00:00`;
}

interface PostResult {
  status: number;
  body: string;
}

function postOnce(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : http;
    // agent: false gives every attempt a fresh connection that closes afterwards, so a dropped
    // receiver is noticed on the next attempt and close() leaves no idle sockets behind.
    const request = transport.request(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(body.length) },
      agent: false,
      signal,
      timeout: timeoutMs,
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= 4096) chunks.push(chunk);
      });
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8').slice(0, 1024),
        }),
      );
      response.on('error', reject);
    });
    request.end(body);
  });
}

export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  let registration: WebhookRegistration | undefined;
  let identity: SigningIdentityName = 'microsoft';
  let records: DeliveryRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const controller = new AbortController();
  let closed = false;

  const schedule = (delayMs: number, task: () => void): void => {
    if (closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      task();
    }, delayMs);
    timers.add(timer);
  };

  // A record no longer in `records` was cleared by reset(): its pending retries stop there.
  const live = (record: DeliveryRecord): boolean => !closed && records.includes(record);

  const attempt = async (record: DeliveryRecord): Promise<void> => {
    if (!live(record)) return;
    const started = Date.now();
    const number = record.attempts.length + 1;
    let status: number | null = null;
    let error: string | null = null;
    let responseBody = '';
    try {
      const result = await postOnce(
        record.url,
        record.headers,
        Buffer.from(record.body, 'utf8'),
        options.timeoutMs,
        controller.signal,
      );
      status = result.status;
      responseBody = result.body;
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    }
    if (!live(record)) return;
    const ok = status !== null && status >= 200 && status < 300;
    record.attempts.push({
      attempt: number,
      at: new Date(started).toISOString(),
      status,
      error,
      ok,
      durationMs: Date.now() - started,
      responseBody,
    });
    if (ok) record.state = 'delivered';
    else if (number >= options.maxAttempts) record.state = 'dropped';
    else schedule(options.backoffMs(number), () => void attempt(record));
  };

  return {
    registration: () => (registration ? structuredClone(registration) : undefined),
    register(next) {
      registration = structuredClone(next);
    },
    signingIdentity: () => identity,
    setSigningIdentity(name) {
      if (!(name in options.pki.identities))
        throw new RangeError(`identity: unknown signing identity '${name}'`);
      identity = name;
    },
    publish(event) {
      if (!registration || !registration.webhookEvents.includes(event.eventName)) return undefined;
      // Key order and the literal null follow the documented payload (contract §3.3).
      const body = JSON.stringify({
        EventName: event.eventName,
        ResourceUri: event.resourceUri,
        ResourceName: event.resourceName,
        AuditUri: null,
        ResourceChangeUtcDate: toChangeDate(event.changedAt),
      });
      const signer = options.pki.identities[identity];
      const signature = sign('sha256', Buffer.from(body, 'utf8'), signer.signingKeyPem).toString('base64');
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-ms-certificate-url': `${options.certificateBaseUrl()}/cert/${signer.fileName}`,
        'x-ms-signature-algorithm': 'rsa-sha256',
      };
      if (registration.signatureTokenToMsSignatureHeader) {
        headers['x-ms-signature'] =
          options.msSignatureHeaderFormat === 'prefixed' ? `Signature ${signature}` : signature;
      } else {
        headers.authorization = `Signature ${signature}`;
      }
      const record: DeliveryRecord = {
        id: randomUUID(),
        eventName: event.eventName,
        resourceUri: event.resourceUri,
        correlationId: event.correlationId ?? null,
        url: registration.webhookUrl,
        body,
        headers,
        signingIdentity: identity,
        state: 'pending',
        attempts: [],
      };
      records.push(record);
      if (options.shouldLose()) record.state = 'lost';
      else schedule(0, () => void attempt(record));
      return record;
    },
    records: () => records.map((record) => structuredClone(record)),
    byCorrelationId(correlationId) {
      const record = records.find((r) => r.correlationId === correlationId);
      return record ? structuredClone(record) : undefined;
    },
    clear() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      records = [];
      registration = undefined;
      identity = 'microsoft';
    },
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      controller.abort();
    },
  };
}

/** .NET HttpStatusCode names (`OK`, `InternalServerError`), as the validation-event results report them. */
export function statusCodeName(status: number): string {
  const text = STATUS_CODES[status];
  return text ? text.replace(/[^A-Za-z]/g, '') : String(status);
}
