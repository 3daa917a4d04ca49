import type { Task } from 'graphile-worker';
import { RelayError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DealChange, UndecodableChange } from '../crm/crmAdapter.ts';
import { recordAudit } from '../store/audit.ts';
import type { Queryable } from '../store/transaction.ts';
import { enqueue, enqueueSyncJobs, jobKey, spendAttempts, TASKS } from '../store/queue.ts';
import { outboundJobPayload } from './opportunityChanged.ts';

/**
 * Pub/Sub events whose payload does not decode. The stream moves past them (holding it up would
 * stop every other seller's sync), so each is kept where an admin sees it: an ERROR audit line and
 * a dead letter holding the event's bytes. Retrying the dead letter decodes the bytes again with
 * the schema Pub/Sub serves then (after the event definition or the relay was fixed) and queues
 * the Opportunity's sync; dropping it forgets the event, recorded in the audit log like any drop.
 */
export const UNDECODABLE_EVENT_TASK = TASKS.undecodableEvent;

export interface UndecodableEventPayload {
  eventId: string;
  replayId: string;
  schemaId: string;
  /** The event's Avro payload, base64. */
  payload: string;
  reason: string;
}

/** Keeps the batch's undecodable events; call inside the transaction that commits the batch. */
export async function keepUndecodableEvents(
  db: Queryable,
  events: UndecodableChange[],
  options: { maxAttempts: number },
): Promise<void> {
  for (const event of events) {
    const payload: UndecodableEventPayload = {
      eventId: event.eventId,
      replayId: event.position.toString('hex'),
      schemaId: event.schemaId,
      payload: event.payload.toString('base64'),
      reason: event.reason,
    };
    const jobId = await enqueue(db, UNDECODABLE_EVENT_TASK, payload, {
      jobKey: jobKey('undecodableEvent', event.eventId),
      maxAttempts: options.maxAttempts,
    });
    // A dead letter from the start: running it now would only fail the same way. The job is not
    // visible to any worker before this transaction commits.
    await spendAttempts(db, jobId, {
      lastError: `PUBSUB_ERROR: event ${event.eventId} does not decode: ${event.reason}`,
    });
    await recordAudit(db, {
      direction: 'outbound',
      level: 'ERROR',
      jobId,
      message: `Pub/Sub event ${event.eventId} (schema ${event.schemaId}) does not decode: ${event.reason}; kept as dead letter ${jobId}`,
      details: { eventId: event.eventId, replayId: payload.replayId, schemaId: event.schemaId },
    });
  }
}

export function undecodableEventTask(deps: {
  pool: Queryable;
  /** The subscribing instance's decoder; null on an instance that stands by. */
  decoder: () => ((schemaId: string, payload: Buffer) => Promise<DealChange>) | null;
  maxAttempts: number;
  coalesceMs: number;
  logger: Logger;
}): Task {
  return async (raw, helpers) => {
    const job = raw as UndecodableEventPayload;
    const decode = deps.decoder();
    if (!decode)
      throw new RelayError(
        'PUBSUB_ERROR',
        'Only the instance holding the Pub/Sub subscription decodes events',
        {
          retryable: true,
        },
      );
    let change: DealChange;
    try {
      change = await decode(job.schemaId, Buffer.from(job.payload, 'base64'));
    } catch (error) {
      // Bytes that do not decode now will not decode on the queue's next attempt either: back to
      // the dead letters at once (the same move syncTask makes for a permanent error).
      await spendAttempts(deps.pool, helpers.job.id, { attempts: helpers.job.attempts });
      throw new RelayError(
        'PUBSUB_ERROR',
        `event ${job.eventId} still does not decode: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const jobs = await enqueueSyncJobs(
      deps.pool,
      'opportunity',
      [{ id: change.dealId, payload: outboundJobPayload(change) }],
      { maxAttempts: deps.maxAttempts, coalesceMs: deps.coalesceMs },
    );
    await recordAudit(deps.pool, {
      direction: 'outbound',
      level: 'INFO',
      opportunityId: change.dealId,
      jobId: helpers.job.id,
      message: `Pub/Sub event ${job.eventId} decoded on retry; sync job ${jobs.get(change.dealId) ?? '?'} queued`,
    });
  };
}
