import { RelayError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createPartnerCenterTransport, parseJson } from './referralsClient.ts';

/**
 * The Partner Center webhook registration API (contract §3.1), called with an app-only token.
 * A tenant has ONE webhook URL: registering overwrites whoever registered before (Microsoft's
 * co-sell connector, another relay), so `register` says what it replaced and logs a warning.
 */

export interface WebhookRegistration {
  subscriberId?: string;
  webhookUrl: string;
  webhookEvents: string[];
  signatureTokenToMsSignatureHeader?: boolean;
  lastModifiedTimestamp?: string;
}

export interface ValidationEventResult {
  responseCode?: string;
  responseMessage?: string;
  systemError?: boolean;
  dateTimeUtc?: string;
}

export interface ValidationEvent {
  correlationId: string;
  partnerId?: string;
  status?: string;
  callbackUrl?: string;
  /** One entry per delivery attempt. */
  results: ValidationEventResult[];
}

export interface RegisterWebhookInput {
  url: string;
  events: string[];
  /** Send the signature in x-ms-signature instead of Authorization. */
  signatureInMsHeader: boolean;
}

export interface WebhookRegistrationClient {
  get(): Promise<WebhookRegistration | null>;
  register(
    input: RegisterWebhookInput,
  ): Promise<{ registration: WebhookRegistration; replaced: string | null }>;
  listEvents(): Promise<string[]>;
  sendTestEvent(): Promise<string>;
  getValidationEvent(correlationId: string): Promise<ValidationEvent>;
}

export interface WebhookRegistrationClientOptions {
  /** e.g. https://api.partnercenter.microsoft.com */
  baseUrl: string;
  /** An app-only token for https://api.partnercenter.microsoft.com. */
  getToken: () => Promise<string>;
  logger: Logger;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The docs write PascalCase, the swagger camelCase: read either. */
function field(body: Record<string, unknown>, name: string): unknown {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(body)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function toRegistration(body: unknown): WebhookRegistration {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new RelayError('PC_HTTP_ERROR', 'The webhook registration response is not an object', {
      retryable: true,
    });
  }
  const record = body as Record<string, unknown>;
  const webhookUrl = field(record, 'WebhookUrl');
  const events = field(record, 'WebhookEvents');
  if (typeof webhookUrl !== 'string' || !Array.isArray(events)) {
    throw new RelayError(
      'PC_HTTP_ERROR',
      'The webhook registration response lacks WebhookUrl or WebhookEvents',
      { retryable: true },
    );
  }
  const registration: WebhookRegistration = {
    webhookUrl,
    webhookEvents: events.filter((event): event is string => typeof event === 'string'),
  };
  const subscriberId = field(record, 'SubscriberId');
  if (typeof subscriberId === 'string') registration.subscriberId = subscriberId;
  const inHeader = field(record, 'SignatureTokenToMsSignatureHeader');
  if (typeof inHeader === 'boolean') registration.signatureTokenToMsSignatureHeader = inHeader;
  const modified = field(record, 'LastModifiedTimestamp');
  if (typeof modified === 'string') registration.lastModifiedTimestamp = modified;
  return registration;
}

export function createWebhookRegistrationClient(
  options: WebhookRegistrationClientOptions,
): WebhookRegistrationClient {
  const logger = options.logger.child({ module: 'webhookRegistrationClient' });
  const base = new URL(options.baseUrl);
  const registrationUrl = new URL(
    `${base.pathname.replace(/\/+$/, '')}/webhooks/v1/registration`,
    base,
  ).toString();
  const send = createPartnerCenterTransport({ ...options, logger });

  async function get(): Promise<WebhookRegistration | null> {
    const what = 'GET webhook registration';
    const response = await send({ method: 'GET', url: registrationUrl, what }, [404]);
    if (response.status === 404 || response.text.trim() === '' || response.text.trim() === 'null')
      return null;
    return toRegistration(parseJson(response, what));
  }

  return {
    get,

    async register({ url, events, signatureInMsHeader }) {
      const body = {
        WebhookUrl: url,
        WebhookEvents: events,
        SignatureTokenToMsSignatureHeader: signatureInMsHeader,
      };
      const created = await send(
        { method: 'POST', url: registrationUrl, body, what: 'POST webhook registration' },
        [409],
      );
      if (created.status !== 409) {
        logger.info({ webhookUrl: url, events }, 'webhook registered');
        return {
          registration: toRegistration(parseJson(created, 'POST webhook registration')),
          replaced: null,
        };
      }
      // 409: "Registration already exists, use the PUT method to update a registration."
      const previous = await get();
      const previousUrl = previous?.webhookUrl ?? null;
      if (previousUrl !== null && previousUrl !== url) {
        logger.warn(
          { previousUrl, webhookUrl: url },
          'overwriting the existing Partner Center webhook registration: a tenant has one webhook URL, so the previous receiver stops getting events',
        );
      }
      const updated = await send({
        method: 'PUT',
        url: registrationUrl,
        body,
        what: 'PUT webhook registration',
      });
      logger.info({ webhookUrl: url, events }, 'webhook registration updated');
      return {
        registration: toRegistration(parseJson(updated, 'PUT webhook registration')),
        replaced: previousUrl,
      };
    },

    async listEvents() {
      const what = 'GET webhook events';
      const body = parseJson<unknown>(
        await send({ method: 'GET', url: `${registrationUrl}/events`, what }),
        what,
      );
      if (!Array.isArray(body))
        throw new RelayError('PC_HTTP_ERROR', `${what} returned no array`, { retryable: true });
      return body.filter((event): event is string => typeof event === 'string');
    },

    async sendTestEvent() {
      const what = 'POST webhook validation event';
      const body = parseJson<Record<string, unknown>>(
        await send({ method: 'POST', url: `${registrationUrl}/validationEvents`, what }),
        what,
      );
      const correlationId = body && typeof body === 'object' ? field(body, 'correlationId') : undefined;
      if (typeof correlationId !== 'string')
        throw new RelayError('PC_HTTP_ERROR', `${what} returned no correlationId`, { retryable: true });
      return correlationId;
    },

    async getValidationEvent(correlationId) {
      const what = `GET webhook validation event ${correlationId}`;
      const body = parseJson<Record<string, unknown>>(
        await send({
          method: 'GET',
          url: `${registrationUrl}/validationEvents/${encodeURIComponent(correlationId)}`,
          what,
        }),
        what,
      );
      if (!body || typeof body !== 'object')
        throw new RelayError('PC_HTTP_ERROR', `${what} returned no object`, { retryable: true });
      const results = field(body, 'results');
      const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
      return {
        correlationId: text(field(body, 'correlationId')) ?? correlationId,
        ...(text(field(body, 'partnerId')) === undefined
          ? {}
          : { partnerId: text(field(body, 'partnerId')) }),
        ...(text(field(body, 'status')) === undefined ? {} : { status: text(field(body, 'status')) }),
        ...(text(field(body, 'callbackUrl')) === undefined
          ? {}
          : { callbackUrl: text(field(body, 'callbackUrl')) }),
        results: Array.isArray(results)
          ? (results.filter((result) => result && typeof result === 'object') as ValidationEventResult[])
          : [],
      };
    },
  };
}
