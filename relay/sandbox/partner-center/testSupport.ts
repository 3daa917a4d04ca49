import { once } from 'node:events';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessTokenClaims } from './requestHandler.ts';

/** Helpers shared by the sandbox's tests and the relay's signature tests. */

export const DELEGATED_TOKEN = 'delegated-token';
export const APP_TOKEN = 'app-token';
/** App-only, but minted for the referrals audience: the referrals API must still refuse it. */
export const APP_REFERRALS_TOKEN = 'app-token-referrals-audience';

/** A stand-in for the Entra authority: fixed tokens with the audiences the real APIs expect. */
export function testTokenVerifier(token: string): AccessTokenClaims | null {
  if (token === DELEGATED_TOKEN)
    return {
      kind: 'delegated',
      audience: 'https://api.partner.microsoft.com',
      subject: 'referral-admin@partner.example',
    };
  if (token === APP_TOKEN)
    return { kind: 'app', audience: 'https://api.partnercenter.microsoft.com', subject: 'relay-app' };
  if (token === APP_REFERRALS_TOKEN)
    return { kind: 'app', audience: 'https://api.partner.microsoft.com', subject: 'relay-app' };
  return null;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const token = options.token === undefined ? DELEGATED_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(path.startsWith('http') ? path : `${baseUrl}${path}`, {
    method,
    headers,
    body: payload,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

export function referralBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Contoso supply chain',
    type: 'Independent',
    qualification: 'SalesQualified',
    customerProfile: {
      name: 'Contoso Customer Inc',
      address: {
        addressLine1: 'One Microsoft Way',
        city: 'Redmond',
        state: 'WA',
        postalCode: '98052',
        country: 'US',
      },
    },
    consent: {
      consentToToShareInfoWithOthers: true,
      consentToContact: true,
      consentToShareReferralWithMicrosoftSellers: false,
    },
    details: {
      notes: 'Dynamics 365 rollout',
      dealValue: 50000,
      currency: 'USD',
      closingDateTime: '2030-11-14T00:00:00Z',
    },
    team: [],
    ...overrides,
  };
}

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedRequest[];
  /** Status to answer the nth request (1-based) with; tests replace it to simulate a failing relay. */
  respondWith: (requestNumber: number) => number;
  /** When set, answers wait for it: a slow relay. */
  holdUntil: Promise<void> | null;
  close(): Promise<void>;
}

/** A webhook endpoint on 127.0.0.1 that records raw bodies and headers exactly as they arrived. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    respondWith: () => 200,
    holdUntil: null,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      receiver.received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      const status = receiver.respondWith(receiver.received.length);
      void (receiver.holdUntil ?? Promise.resolve()).then(() => res.writeHead(status).end());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/partner-center`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}
