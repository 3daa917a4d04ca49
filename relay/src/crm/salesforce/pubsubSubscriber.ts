import * as grpc from '@grpc/grpc-js';
import { RelayError, describeError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { createSchemaCache, decodePayload } from './avro.ts';
import { ERROR_CODE_TRAILER, MAX_NUM_REQUESTED, authMetadata, loadPubSubDefinition } from './pubsubProto.ts';
import { pubsubCredentials } from './pubsubTls.ts';
import type {
  FetchRequest,
  FetchResponse,
  PubSubServiceClient,
  SchemaInfo,
  TopicInfo,
} from './pubsubProto.ts';

/**
 * Our own Pub/Sub API subscriber (the public Node client neither reconnects nor keeps replay ids
 * exact). One Subscribe stream at a time; events reach `onBatch` in stream order, one call per
 * FetchResponse, and a batch counts as processed only once `onBatch` has resolved — the caller
 * commits its jobs and the replay id in one transaction there. After any stream error the
 * subscriber resubscribes from `loadReplayId()`, so what was not committed is delivered again
 * (at-least-once) and what was committed is not.
 *
 * Keepalives: an empty FetchResponse carries the stream's latest replay id, which may lie beyond
 * the last event; the subscriber passes it on as `onBatch([], latestReplayId)` so the stored
 * position keeps moving during quiet periods (contracts §1.3) and a resubscribe after a long quiet
 * spell does not start from an id close to the retention limit.
 */

export interface PubSubAuth {
  accessToken: string;
  instanceUrl: string;
  tenantId: string;
}

export interface ReferralSyncEventPayload {
  Opportunity_Id__c: string;
  Change_Kind__c: string | null;
  Changed_Fields__c: string | null;
  Changed_By__c: string | null;
  /** JSON of the saved record (package versions before it was added send none). */
  Record_Snapshot__c?: string | null;
  /** Epoch milliseconds. */
  CreatedDate: number;
  CreatedById: string;
}

export interface DecodedEvent {
  eventId: string;
  replayId: Buffer;
  schemaId: string;
  payload: ReferralSyncEventPayload;
}

/** An event whose payload did not decode: kept with its bytes so it can be decoded again later. */
export interface UndecodableEvent {
  eventId: string;
  replayId: Buffer;
  schemaId: string;
  payload: Buffer;
  reason: string;
}

export interface PubSubSubscriberOptions {
  /** `host:port`, e.g. `api.pubsub.salesforce.com:7443`. */
  endpoint: string;
  topic: string;
  /** The real endpoint and the sandbox speak TLS only; false is for a plaintext proxy in front of it. */
  tls: boolean;
  /**
   * Roots to trust instead of the system's (the sandbox CA in sandbox mode). Unset, grpc-js uses
   * Node's default store, so NODE_EXTRA_CA_CERTS covers a private CA in production.
   */
  caPem?: string;
  getAuth: () => Promise<PubSubAuth>;
  refreshAuth: () => Promise<void>;
  /** Flow-control window: events requested or received but not yet processed (1–100). */
  batchSize: number;
  loadReplayId: () => Promise<Buffer | null>;
  /**
   * Commits a batch. `undecodable` holds the batch's events whose payload did not decode: the
   * stream moves past them with the batch, so the caller must keep them in the same transaction.
   */
  onBatch: (events: DecodedEvent[], replayId: Buffer, undecodable: UndecodableEvent[]) => Promise<void>;
  onReplayReset: (preset: 'EARLIEST' | 'LATEST') => Promise<void>;
  replayOnCorrupt: 'EARLIEST' | 'LATEST';
  backoff: { initialMs: number; maxMs: number };
  logger: Logger;
  /** Deadline for GetTopic/GetSchema. */
  unaryTimeoutMs?: number;
}

export interface SubscriberStats {
  /** A Subscribe stream is open. */
  connected: boolean;
  /** Subscribe streams opened after the first. */
  reconnects: number;
  /** Events received and decoded (redeliveries count again). */
  received: number;
  /** Epoch ms at which the last event was received. */
  lastEventAt: number | null;
  /** Receipt time minus CreatedDate of the last event, taken at receipt so a quiet stream does not look late. */
  lagMs: number | null;
  /** Hex of the last replay id `onBatch` committed. */
  lastReplayId: string | null;
  /** Events skipped because their payload did not decode. */
  undecodable: number;
  /** Stream failures since the last committed batch; above a few, something needs a person. */
  failures: number;
}

export interface PubSubSubscriber {
  start(): void;
  stop(): Promise<void>;
  stats(): SubscriberStats;
  /** Decodes a kept event's bytes with its schema as Pub/Sub serves it now (a retried dead letter). */
  decodeEvent(schemaId: string, payload: Buffer): Promise<ReferralSyncEventPayload>;
}

type Failure = { kind: 'auth' | 'corrupt' | 'transient' | 'stopped'; reason: string };

export function createPubSubSubscriber(options: PubSubSubscriberOptions): PubSubSubscriber {
  if (
    !Number.isInteger(options.batchSize) ||
    options.batchSize < 1 ||
    options.batchSize > MAX_NUM_REQUESTED
  ) {
    throw new RelayError(
      'CONFIG_INVALID',
      `batchSize must be an integer from 1 to ${MAX_NUM_REQUESTED}, got ${options.batchSize}`,
    );
  }
  const logger = options.logger.child({ module: 'salesforce.pubsub', topic: options.topic });
  const window = options.batchSize;
  const unaryTimeoutMs = options.unaryTimeoutMs ?? 10_000;
  const { Client } = loadPubSubDefinition();
  const client: PubSubServiceClient = new Client(
    options.endpoint,
    pubsubCredentials({ tls: options.tls, caPem: options.caPem }),
    // HTTP/2 pings notice a dead connection during quiet periods, before the platform's keepalive
    // would (it can take up to 270 s).
    { 'grpc.keepalive_time_ms': 60_000, 'grpc.keepalive_timeout_ms': 20_000 },
  );

  let metadata = new grpc.Metadata();
  const schemas = createSchemaCache((schemaId) =>
    unary<SchemaInfo>((callback) => client.GetSchema({ schema_id: schemaId }, metadata, callback)).then(
      (info) => info.schema_json,
    ),
  );

  const stats: SubscriberStats = {
    connected: false,
    reconnects: 0,
    received: 0,
    lastEventAt: null,
    lagMs: null,
    lastReplayId: null,
    undecodable: 0,
    failures: 0,
  };
  let stopping = false;
  let loop: Promise<void> | null = null;
  let streamsOpened = 0;
  let consecutiveFailures = 0;
  // After a corrupted replay id: the preset to use until something is committed, and whether the
  // caller still has to hear about the reset.
  let resumePreset: 'EARLIEST' | 'LATEST' | null = null;
  let resetToAnnounce: 'EARLIEST' | 'LATEST' | null = null;
  let lastCommitted: Buffer | null = null;
  const inflightUnary = new Set<grpc.ClientUnaryCall>();
  let cancelStream: (() => void) | null = null;
  let wake: (() => void) | null = null;

  function unary<T>(invoke: (callback: grpc.requestCallback<T>) => grpc.ClientUnaryCall): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => call.cancel(), unaryTimeoutMs);
      const call = invoke((error, value) => {
        clearTimeout(timer);
        inflightUnary.delete(call);
        if (error || value === undefined) reject(error ?? new Error('empty response'));
        else resolve(value);
      });
      inflightUnary.add(call);
    });
  }

  function classify(error: unknown): Failure {
    if (stopping) return { kind: 'stopped', reason: 'stopping' };
    const status = error as Partial<grpc.StatusObject> | undefined;
    const trailer =
      status?.metadata instanceof grpc.Metadata ? status.metadata.get(ERROR_CODE_TRAILER)[0] : undefined;
    const errorCode = typeof trailer === 'string' ? trailer : '';
    const reason = errorCode || describeError(error);
    // Matched by suffix, as the platform's own samples do (contracts §1.5).
    if (
      errorCode.endsWith('auth.error') ||
      errorCode.endsWith('auth.refresh.invalid') ||
      status?.code === grpc.status.UNAUTHENTICATED
    ) {
      return { kind: 'auth', reason };
    }
    if (errorCode.includes('replayid.corrupted') || errorCode.includes('replayid.validation.failed'))
      return { kind: 'corrupt', reason };
    return { kind: 'transient', reason };
  }

  async function decodeEvent(schemaId: string, bytes: Buffer): Promise<ReferralSyncEventPayload> {
    if (!metadata.get('accesstoken').length) metadata = authMetadata(await options.getAuth());
    const payload = decodePayload(await schemas.typeFor(schemaId), bytes);
    if (typeof payload.Opportunity_Id__c !== 'string' || typeof payload.CreatedDate !== 'number')
      throw new Error('missing Opportunity_Id__c or CreatedDate');
    return payload as unknown as ReferralSyncEventPayload;
  }

  async function decode(
    response: FetchResponse,
  ): Promise<{ decoded: DecodedEvent[]; undecodable: UndecodableEvent[] }> {
    const decoded: DecodedEvent[] = [];
    const undecodable: UndecodableEvent[] = [];
    for (const consumerEvent of response.events) {
      const event = consumerEvent.event;
      if (!event) continue;
      // A schema lookup failure throws (and fails the stream: retried); a payload that does not
      // decode is handed over as it is, since Pub/Sub publishes invalid Avro without complaint (§1.6).
      const type = await schemas.typeFor(event.schema_id);
      try {
        const payload = decodePayload(type, event.payload);
        if (typeof payload.Opportunity_Id__c !== 'string' || typeof payload.CreatedDate !== 'number')
          throw new Error('missing Opportunity_Id__c or CreatedDate');
        decoded.push({
          eventId: event.id,
          replayId: consumerEvent.replay_id,
          schemaId: event.schema_id,
          payload: payload as unknown as ReferralSyncEventPayload,
        });
      } catch (error) {
        stats.undecodable += 1;
        logger.error(
          {
            eventId: event.id,
            replayId: consumerEvent.replay_id.toString('hex'),
            schemaId: event.schema_id,
            err: describeError(error),
          },
          'an event does not decode; keeping its bytes as a dead letter',
        );
        undecodable.push({
          eventId: event.id,
          replayId: consumerEvent.replay_id,
          schemaId: event.schema_id,
          payload: Buffer.from(event.payload),
          reason: describeError(error),
        });
      }
    }
    return { decoded, undecodable };
  }

  /** One Subscribe stream, from opening to the end of its last in-flight batch. */
  async function subscribeOnce(): Promise<Failure> {
    try {
      metadata = authMetadata(await options.getAuth());
      const topic = await unary<TopicInfo>((callback) =>
        client.GetTopic({ topic_name: options.topic }, metadata, callback),
      );
      if (!topic.can_subscribe)
        throw new RelayError('PUBSUB_ERROR', `Not allowed to subscribe to ${options.topic}`);
      await schemas.typeFor(topic.schema_id);
      if (resetToAnnounce) {
        await options.onReplayReset(resetToAnnounce);
        resetToAnnounce = null;
      }
    } catch (error) {
      return classify(error);
    }
    if (stopping) return { kind: 'stopped', reason: 'stopping' };

    let first: Partial<FetchRequest>;
    if (resumePreset) {
      first = { topic_name: options.topic, replay_preset: resumePreset, num_requested: window };
    } else {
      let stored: Buffer | null;
      try {
        stored = await options.loadReplayId();
      } catch (error) {
        return { kind: 'transient', reason: `loadReplayId failed: ${describeError(error)}` };
      }
      first =
        stored && stored.length > 0
          ? { topic_name: options.topic, replay_preset: 'CUSTOM', replay_id: stored, num_requested: window }
          : { topic_name: options.topic, replay_preset: 'LATEST', num_requested: window };
    }
    if (stopping) return { kind: 'stopped', reason: 'stopping' };

    const call = client.Subscribe(metadata);
    if (streamsOpened > 0) stats.reconnects += 1;
    streamsOpened += 1;
    stats.connected = true;
    logger.info(
      { replayPreset: first.replay_preset, replayId: first.replay_id?.toString('hex') },
      'subscribed',
    );

    let requested = window;
    let receivedCount = 0;
    let processedCount = 0;
    let ended = false;
    let failure: Failure | null = null;
    const queue: FetchResponse[] = [];
    let processing: Promise<void> | null = null;

    const end = (outcome: Failure): void => {
      failure ??= outcome;
      if (!ended) {
        ended = true;
        call.cancel();
      }
    };
    cancelStream = () => end({ kind: 'stopped', reason: 'stopping' });

    // Keep up to `window` events requested from the server, topping up once half of them have
    // arrived, so the server's pending count does not reach 0 while events are flowing and the
    // stream never sits idle long enough to be closed (60 s, §1.3). Received-but-unprocessed
    // events count against the window too: a slow onBatch slows the server instead of piling up
    // responses in memory.
    const topUp = (): void => {
      if (ended) return;
      const outstanding = requested - receivedCount;
      const buffered = receivedCount - processedCount;
      if (outstanding > window / 2 || buffered >= window) return;
      const amount = window - outstanding;
      if (amount <= 0) return;
      requested += amount;
      call.write({ num_requested: amount });
    };

    const commit = (position: Buffer): void => {
      lastCommitted = position;
      stats.lastReplayId = position.toString('hex');
      resumePreset = null;
      consecutiveFailures = 0;
    };

    const processQueue = async (): Promise<void> => {
      while (queue.length > 0 && !ended) {
        const response = queue.shift() as FetchResponse;
        try {
          if (response.events.length === 0) {
            const position = response.latest_replay_id;
            if (position.length > 0 && !(lastCommitted && lastCommitted.equals(position))) {
              await options.onBatch([], position, []);
              commit(position);
            }
          } else {
            const receivedAt = Date.now();
            const { decoded: events, undecodable } = await decode(response);
            const position = response.events[response.events.length - 1].replay_id;
            stats.received += events.length;
            if (events.length > 0) {
              stats.lastEventAt = receivedAt;
              stats.lagMs = Math.max(0, receivedAt - events[events.length - 1].payload.CreatedDate);
            }
            await options.onBatch(events, position, undecodable);
            commit(position);
            processedCount += response.events.length;
          }
        } catch (error) {
          logger.error(
            { err: describeError(error) },
            'batch not committed; resubscribing from the stored replay id',
          );
          end({ kind: 'transient', reason: `onBatch failed: ${describeError(error)}` });
          return;
        }
        topUp();
      }
    };

    const streamEnded = new Promise<void>((resolve) => {
      call.on('data', (response: FetchResponse) => {
        if (ended) return;
        receivedCount += response.events.length;
        queue.push(response);
        topUp();
        processing ??= processQueue().finally(() => {
          processing = null;
        });
      });
      // 'error' always precedes 'status' for a failed call; listening keeps it from throwing.
      call.on('error', () => undefined);
      call.on('status', (status: grpc.StatusObject) => {
        if (status.code === grpc.status.OK) end({ kind: 'transient', reason: 'stream closed by the server' });
        else end(classify(status));
        resolve();
      });
    });

    call.write(first);
    await streamEnded;
    // The batch being committed when the stream ended finishes (its transaction decides the
    // stored replay id); responses queued behind it are dropped and fetched again.
    await processing;
    stats.connected = false;
    cancelStream = null;
    return failure ?? { kind: 'transient', reason: 'stream ended' };
  }

  function backoffMs(failures: number): number {
    const base = Math.min(options.backoff.maxMs, options.backoff.initialMs * 2 ** Math.max(0, failures - 1));
    // Equal jitter: keeps a floor of half the delay while spreading reconnects of many relays.
    return base / 2 + Math.random() * (base / 2);
  }

  async function pause(ms: number): Promise<void> {
    if (ms <= 0 || stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = null;
  }

  async function run(): Promise<void> {
    while (!stopping) {
      const failure = await subscribeOnce();
      if (stopping || failure.kind === 'stopped') break;
      consecutiveFailures += 1;
      let delayMs = backoffMs(consecutiveFailures);
      if (failure.kind === 'auth') {
        logger.warn({ reason: failure.reason }, 'pub/sub rejected the session; refreshing it');
        try {
          await options.refreshAuth();
          // A fresh token deserves an immediate try; repeated rejections fall back to backoff.
          if (consecutiveFailures === 1) delayMs = 0;
        } catch (error) {
          logger.error({ err: describeError(error) }, 'session refresh failed');
        }
      } else if (failure.kind === 'corrupt') {
        logger.warn(
          { reason: failure.reason, resumeWith: options.replayOnCorrupt },
          'stored replay id is no longer valid; resubscribing without it',
        );
        resumePreset = options.replayOnCorrupt;
        resetToAnnounce = options.replayOnCorrupt;
        if (consecutiveFailures === 1) delayMs = 0;
      } else {
        logger.warn(
          { reason: failure.reason, retryInMs: Math.round(delayMs) },
          'pub/sub stream ended; resubscribing',
        );
      }
      await pause(delayMs);
    }
  }

  return {
    start() {
      if (loop || stopping) return;
      loop = run().catch((error: unknown) => {
        logger.error({ err: describeError(error) }, 'subscriber loop crashed');
      });
    },
    async stop() {
      stopping = true;
      cancelStream?.();
      wake?.();
      for (const call of inflightUnary) call.cancel();
      await loop;
      client.close();
    },
    stats: () => ({ ...stats, failures: consecutiveFailures }),
    decodeEvent,
  };
}
