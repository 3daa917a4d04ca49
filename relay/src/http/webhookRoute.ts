import express from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { describeError, isRelayError, RequestError } from '../errors.ts';
import { isHandledEvent, parseWebhookEvent } from '../partner-center/webhookEvent.ts';
import { RECEIPT_RETENTION_DAYS } from '../store/webhookReceipts.ts';
import type { DeliveryKey } from '../store/webhookReceipts.ts';
import { sendError, sendRelayError } from './errorBody.ts';

export interface WebhookRouteDeps {
  verify(rawBody: Buffer, headers: IncomingHttpHeaders): Promise<void>;
  /** Durably records the delivery and its job (one transaction); duplicate = already seen. */
  accept(delivery: DeliveryKey): Promise<{ duplicate: boolean; jobId?: string }>;
  maxBodyBytes: number;
  isDraining(): boolean;
  metrics: Metrics;
  logger: Logger;
  /**
   * Deliveries whose ResourceChangeUtcDate is older than this are acknowledged and ignored: their
   * receipt may have been pruned, so a replay would be processed again (default: the retention).
   */
  replayWindowMs?: number;
  now?: () => Date;
}

const SIGNATURE_HEADERS = [
  'authorization',
  'x-ms-signature',
  'x-ms-signature-algorithm',
  'x-ms-certificate-url',
];

/**
 * A refused signature is answered with the header at fault and nothing else: the reason (what the
 * certificate download answered, which check failed) would tell the sender how to shape the next
 * attempt, and it goes to the log instead.
 */
function signatureRefusal(message: string): string {
  const named = /^([a-z-]+): /.exec(message)?.[1];
  const headerName = named && SIGNATURE_HEADERS.includes(named) ? named : 'authorization';
  return `${headerName}: the delivery's signature could not be verified (the relay's log has the reason)`;
}

/**
 * POST /webhooks/partner-center. Verifies the signature on the raw bytes (before any parsing),
 * then durably enqueues a job keyed by referral id and answers 200. Anything else gets 400/401/413
 * with the reason and enqueues nothing; events the relay does not handle are acknowledged.
 */
export function webhookRouter(deps: WebhookRouteDeps): express.Router {
  const router = express.Router();
  const count = deps.metrics.counter(
    'cosell_webhook_deliveries_total',
    'Partner Center webhook deliveries by outcome (accepted, duplicate, ignored, rejected with a reason, error)',
    ['outcome', 'reason'],
  );
  const log = deps.logger.child({ module: 'webhook' });
  const replayWindowMs = deps.replayWindowMs ?? RECEIPT_RETENTION_DAYS * 86_400_000;
  const now = deps.now ?? (() => new Date());

  router.post(
    '/webhooks/partner-center',
    (req, res, next) => {
      if (deps.isDraining()) {
        // Partner Center retries a failed delivery; another instance (or this one restarted) takes it.
        res.setHeader('Retry-After', '5');
        sendError(res, 503, 'SHUTTING_DOWN', 'The relay is shutting down; retry the delivery');
        return;
      }
      next();
    },
    express.raw({ type: () => true, limit: deps.maxBodyBytes }),
    async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      try {
        await deps.verify(body, req.headers);
        const event = parseWebhookEvent(body);
        if (!isHandledEvent(event.eventName)) {
          count({ outcome: 'ignored' });
          log.info({ eventName: event.eventName }, 'acknowledged an event the relay does not handle');
          res.status(200).json({ status: 'ignored', eventName: event.eventName });
          return;
        }
        if (!event.referralId)
          throw new RequestError('REQUEST_INVALID', 400, 'ResourceUri: must end with the referral id');
        if (now().getTime() - Date.parse(event.resourceChangeUtcDate) > replayWindowMs) {
          // A 4xx would only make Partner Center retry a delivery that can never be accepted; the
          // reconcile reads the referral's current state whatever this event said.
          count({ outcome: 'ignored' });
          log.warn(
            {
              referralId: event.referralId,
              eventName: event.eventName,
              resourceChangeUtcDate: event.resourceChangeUtcDate,
            },
            'ignored a delivery older than the receipt retention (a replay?)',
          );
          res.status(200).json({
            status: 'ignored',
            reason: `ResourceChangeUtcDate: older than the ${Math.round(replayWindowMs / 86_400_000)}-day replay window`,
          });
          return;
        }
        const result = await deps.accept({
          eventName: event.eventName,
          referralId: event.referralId,
          changeDate: event.resourceChangeUtcDate,
        });
        count({ outcome: result.duplicate ? 'duplicate' : 'accepted' });
        log.info(
          {
            referralId: event.referralId,
            eventName: event.eventName,
            jobId: result.jobId,
            duplicate: result.duplicate,
          },
          'webhook accepted',
        );
        res.status(200).json({ status: result.duplicate ? 'duplicate' : 'accepted' });
      } catch (error) {
        if (isRelayError(error) && error.status && error.status < 500) {
          count({ outcome: 'rejected', reason: error.code });
          log.warn(
            {
              reason: error.message,
              code: error.code,
              ...(error.cause instanceof Error ? { cause: error.cause.message } : {}),
            },
            'webhook rejected',
          );
          if (error.code === 'SIGNATURE_INVALID')
            sendError(res, 401, error.code, signatureRefusal(error.message));
          else sendRelayError(res, error);
          return;
        }
        count({ outcome: 'error' });
        log.error({ err: describeError(error) }, 'webhook intake failed');
        // 5xx makes Partner Center retry the delivery: nothing accepted is lost.
        sendError(res, 503, 'INTAKE_FAILED', 'The delivery could not be stored; retry it');
      }
    },
  );

  // express.raw's own errors (size limit, broken stream) in the same error shape.
  router.use(
    '/webhooks/partner-center',
    (
      error: { type?: string; status?: number },
      _req: express.Request,
      res: express.Response,
      next: express.NextFunction,
    ) => {
      if (error.type === 'entity.too.large') {
        count({ outcome: 'rejected', reason: 'PAYLOAD_TOO_LARGE' });
        sendError(res, 413, 'PAYLOAD_TOO_LARGE', `body: larger than the ${deps.maxBodyBytes}-byte limit`);
        return;
      }
      if (error.status && error.status < 500) {
        count({ outcome: 'rejected', reason: 'REQUEST_INVALID' });
        sendError(res, error.status, 'REQUEST_INVALID', 'body: could not be read');
        return;
      }
      next(error);
    },
  );
  return router;
}
