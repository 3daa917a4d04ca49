import { randomUUID } from 'node:crypto';

/**
 * How the sandbox's asynchronous service delivers a registered webhook step (contract §3): an HTTP
 * POST of the RemoteExecutionContext JSON with the x-ms-dynamics-* headers and the endpoint's
 * authentication, a 60-second timeout, one more attempt only on 502 / 503 / 504, and an
 * asyncoperation row (statuscode 31 Failed) left behind when the delivery fails.
 */

export interface WebhookEndpoint {
  id: string;
  url: string;
  /** 4 WebhookKey (?code=), 5 HttpHeader, 6 HttpQueryString. */
  authtype: number;
  authvalue: string;
}

export interface DeliveryAttempt {
  stepId: string;
  url: string;
  messageName: string;
  primaryEntityId: string;
  attempt: number;
  /** The receiver's status, or undefined when the connection failed or timed out. */
  status?: number;
  error?: string;
  oversized: boolean;
}

/** Key/value pairs from `<settings><setting name="…" value="…"/></settings>` (HttpHeader and HttpQueryString). */
export function parseAuthSettings(authvalue: string): Array<[string, string]> {
  const unescape = (text: string): string =>
    text
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  const pairs: Array<[string, string]> = [];
  const pattern = /<setting\s+name\s*=\s*(["'])(.*?)\1\s+value\s*=\s*(["'])(.*?)\3\s*\/?>/g;
  for (const match of authvalue.matchAll(pattern)) pairs.push([unescape(match[2]), unescape(match[4])]);
  return pairs;
}

/** The WCF JSON date form Dataverse writes: `/Date(1506409448000)/`, optionally with an offset. */
export function wcfDate(epochMs: number, offset?: string): string {
  return `/Date(${epochMs}${offset ?? ''})/`;
}

export interface DeliveryRequest {
  endpoint: WebhookEndpoint;
  stepId: string;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  messageName: string;
  primaryEntityId: string;
}

export interface DeliveryOptions {
  timeoutMs: number;
  maxBodyBytes: number;
  onAttempt(attempt: DeliveryAttempt): void;
  onFailed(request: DeliveryRequest, reason: string): void;
  onSucceeded(request: DeliveryRequest): void;
}

/** Drops what Dataverse drops from an oversized context: ParentContext, InputParameters and both image lists. */
function stripOversized(body: Record<string, unknown>): Record<string, unknown> {
  return { ...body, ParentContext: null, InputParameters: [], PreEntityImages: [], PostEntityImages: [] };
}

export async function deliver(request: DeliveryRequest, options: DeliveryOptions): Promise<void> {
  const { endpoint } = request;
  const url = new URL(endpoint.url);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-ms-correlation-request-id': randomUUID(),
    ...request.headers,
  };
  if (endpoint.authtype === 4) url.searchParams.set('code', endpoint.authvalue);
  for (const [name, value] of endpoint.authtype === 5 || endpoint.authtype === 6
    ? parseAuthSettings(endpoint.authvalue)
    : []) {
    if (endpoint.authtype === 5) headers[name] = value;
    else url.searchParams.set(name, value);
  }
  let text = JSON.stringify(request.body);
  let oversized = false;
  if (Buffer.byteLength(text) > options.maxBodyBytes) {
    oversized = true;
    text = JSON.stringify(stripOversized(request.body));
    headers['x-ms-dynamics-msg-size-exceeded'] = 'true';
  }
  let lastReason = '';
  for (let attempt = 1; attempt <= 2; attempt += 1) {
    const record: DeliveryAttempt = {
      stepId: request.stepId,
      url: endpoint.url,
      messageName: request.messageName,
      primaryEntityId: request.primaryEntityId,
      attempt,
      oversized,
    };
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body: text,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      record.status = response.status;
      options.onAttempt(record);
      if (response.ok) {
        options.onSucceeded(request);
        return;
      }
      lastReason = `The webhook returned HTTP ${response.status}`;
      // Dataverse tries once more only for these three statuses (contract §3).
      if (![502, 503, 504].includes(response.status)) break;
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
      options.onAttempt(record);
      lastReason = `The webhook could not be reached: ${record.error}`;
      break;
    }
  }
  options.onFailed(request, lastReason);
}
