import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { authMetadata, loadPubSubDefinition } from '../../../src/crm/salesforce/pubsubProto.ts';
import type {
  FetchRequest,
  FetchResponse,
  PubSubServiceClient,
} from '../../../src/crm/salesforce/pubsubProto.ts';
import { createPubSubSandbox } from './pubsubSandbox.ts';
import type { CallAuth, PubSubSandbox, PubSubSandboxOptions } from './pubsubSandbox.ts';

/** Shared fixtures for the Pub/Sub sandbox and subscriber tests. */

export const FORCE_APP = fileURLToPath(new URL('../../../../force-app', import.meta.url));
export const TOPIC = '/event/Referral_Sync__e';
export const ORG_ID = '00DSb0000000001AAA';
export const SELLER_ID = '005Sb0000000002AAA';
export const GOOD_TOKEN = 'sandbox-token-good';
export const AUTH = { accessToken: GOOD_TOKEN, instanceUrl: 'http://127.0.0.1', tenantId: ORG_ID };

export function acceptToken(
  token: () => string = () => GOOD_TOKEN,
): (auth: CallAuth) => { userId: string; orgId: string } | null {
  return (auth) =>
    auth.accessToken === token() && auth.tenantId === ORG_ID ? { userId: SELLER_ID, orgId: ORG_ID } : null;
}

export function startSandbox(overrides: Partial<PubSubSandboxOptions> = {}): Promise<PubSubSandbox> {
  return createPubSubSandbox({ authenticate: acceptToken(), forceAppDir: FORCE_APP, ...overrides });
}

export function opportunityEvent(n: number): Record<string, unknown> {
  return {
    Opportunity_Id__c: `006Sb${String(n).padStart(10, '0')}AAA`,
    Change_Kind__c: 'Updated',
    Changed_Fields__c: 'Amount',
    Changed_By__c: SELLER_ID,
    CreatedById: SELLER_ID,
  };
}

/** A plain client of the sandbox, trusting its CA (the sandbox speaks TLS only). */
export function rawClient(sandbox: Pick<PubSubSandbox, 'endpoint' | 'caPem'>): PubSubServiceClient {
  const { Client } = loadPubSubDefinition();
  return new Client(sandbox.endpoint, grpc.credentials.createSsl(Buffer.from(sandbox.caPem)));
}

export interface RawStream {
  responses: FetchResponse[];
  status: Promise<grpc.StatusObject>;
  send(request: Partial<FetchRequest>): void;
  cancel(): void;
}

/** A Subscribe call driven by hand, recording every response and the final status. */
export function rawSubscribe(
  client: PubSubServiceClient,
  auth: Parameters<typeof authMetadata>[0] = AUTH,
): RawStream {
  const call = client.Subscribe(authMetadata(auth));
  const responses: FetchResponse[] = [];
  call.on('data', (response: FetchResponse) => responses.push(response));
  call.on('error', () => undefined);
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return { responses, status, send: (request) => call.write(request), cancel: () => call.cancel() };
}

export function unaryCall<T>(invoke: (callback: grpc.requestCallback<T>) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    invoke((error, value) => (error ? reject(error) : resolve(value as T)));
  });
}

export function errorCodeOf(status: { metadata?: grpc.Metadata }): string | undefined {
  const value = status.metadata?.get('error-code')[0];
  return typeof value === 'string' ? value : undefined;
}

export const forceAppPath = (...parts: string[]): string => path.join(FORCE_APP, ...parts);
