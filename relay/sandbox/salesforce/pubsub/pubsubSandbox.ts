import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../../src/logger.ts';
import type { Logger } from '../../../src/logger.ts';
import { sandboxTls } from '../../partner-center/certificates.ts';
import {
  ERROR_CODE_TRAILER,
  MAX_NUM_REQUESTED,
  PUBSUB_ERROR_CODES,
  loadPubSubDefinition,
} from '../../../src/crm/salesforce/pubsubProto.ts';
import type {
  FetchRequest,
  FetchResponse,
  ManagedFetchRequest,
  ManagedFetchResponse,
  ProducerEvent,
  PublishRequest,
  PublishResponse,
  PublishResult,
  SchemaInfo,
  SchemaRequest,
  TopicInfo,
  TopicRequest,
} from '../../../src/crm/salesforce/pubsubProto.ts';
import { createEventLog, createReplayIdCounter } from './eventLog.ts';
import type { EventLog } from './eventLog.ts';
import { loadEventSchema, validateEvent } from './eventSchema.ts';
import type { EventSchema } from './eventSchema.ts';

/**
 * The Salesforce Pub/Sub API (eventbus.v1.PubSub) as a local gRPC server: topics for the
 * package's platform events with schemas built from force-app, Avro payloads, opaque replay ids
 * with a retention window, pull-based Subscribe with the platform's flow-control rules, keepalives,
 * idle close, and errors as gRPC status plus `error-code` trailer (contracts/salesforce.md §1).
 * Like api.pubsub.salesforce.com:7443 it speaks TLS only, with a certificate from the process's
 * sandbox CA (`caPem`): a client must use SSL channel credentials that trust it.
 */

export interface CallAuth {
  accessToken: string | undefined;
  instanceUrl: string | undefined;
  tenantId: string | undefined;
}

export interface Principal {
  userId: string;
  orgId: string;
}

export interface PubSubSandboxOptions {
  /** Port on localhost; 0 (the default) picks a free one. */
  port?: number;
  /** Checks the `accesstoken` / `instanceurl` / `tenantid` metadata of a call; null rejects it. */
  authenticate: (auth: CallAuth) => Principal | null;
  forceAppDir: string;
  /** Platform events served as `/event/<Name>`; defaults to the package's Referral_Sync__e. */
  eventNames?: string[];
  /** How long replay ids stay usable; the platform keeps events 72 h (contracts §1.4). */
  retentionMs?: number;
  /** Quiet time after which a stream with requests pending gets an empty keepalive (platform: ≤ 270 s). */
  keepaliveMs?: number;
  /** Time a stream may sit with nothing requested before the server ends it (platform: 60 s). */
  idleTimeoutMs?: number;
  /** ManagedEventSubscription records of the org, for ManagedSubscribe. */
  managedSubscriptions?: ManagedSubscriptionDefinition[];
  logger?: Logger;
}

type ReplayStart = 'LATEST' | 'EARLIEST';

/** The fields of a ManagedEventSubscription (Metadata / Tooling API) that shape delivery. */
export interface ManagedSubscriptionDefinition {
  developerName: string;
  topicName: string;
  /** Where a subscription with nothing committed starts (platform default LATEST). */
  defaultReplay?: ReplayStart;
  /** Where it resumes when the committed replay id is no longer valid (platform default LATEST). */
  errorRecoveryReplay?: ReplayStart;
  /** Only RUN subscriptions can be streamed. */
  state?: 'RUN' | 'STOP';
}

export interface ManagedSubscriptionInfo extends Required<ManagedSubscriptionDefinition> {
  /** The Tooling API record id, which ManagedFetchRequest.subscription_id may name instead. */
  id: string;
  committedReplayId: Buffer | null;
  /** A ManagedSubscribe stream is open on it. */
  streaming: boolean;
}

type ManagedSubscription = ManagedSubscriptionInfo;

export interface ManagedSubscriptions {
  define(definition: ManagedSubscriptionDefinition): ManagedSubscriptionInfo;
  /** By id or developer name; a copy. */
  get(idOrName: string): ManagedSubscriptionInfo | undefined;
  setState(idOrName: string, state: 'RUN' | 'STOP'): void;
}

interface StreamFailure {
  code: grpc.status;
  errorCode: string;
  message: string;
}

interface StreamMode<Req> {
  /** Reads the first request: the topic and the position delivery starts after, or why not. */
  open(request: Req): { topic: Topic; afterSeq: number } | StreamFailure;
  /** Checks a later request; a failure ends the stream. */
  follow(request: Req): StreamFailure | null;
  numRequested(request: Req): number;
  /** An immediate reply to a request (a commit's response), merged into an empty response. */
  answer?(request: Req, topic: Topic): Partial<ManagedFetchResponse> | undefined;
  closed?(): void;
}

export interface PubSubFaults {
  /** The next response carrying events sends at most `afterEvents` of them, then the call fails UNAVAILABLE. */
  dropStreamMidBatch(afterEvents: number): void;
  /** Ages every stored event and issued replay id past the retention window. */
  expireReplayIds(): void;
  /** Delay added before every response (unary and streamed). */
  setLatency(ms: number): void;
  reset(): void;
}

export interface PubSubCounters {
  subscribeCalls: number;
  activeSubscriptions: number;
  fetchRequests: number;
  eventResponses: number;
  eventsDelivered: number;
  keepalives: number;
  /** Responses that left the client with nothing requested (pending_num_requested 0). */
  responsesWithZeroPending: number;
  idleClosures: number;
  droppedStreams: number;
  eventsPublished: number;
  /** Replay ids committed on managed subscriptions. */
  commits: number;
}

export interface PublishedEvent {
  eventId: string;
  replayId: Buffer;
}

export interface PubSubSandbox {
  /** `localhost:port`; TLS only, so a client needs `grpc.credentials.createSsl(caPem)`. */
  endpoint: string;
  /** The sandbox CA that issued the server's certificate. */
  caPem: string;
  /** Publishes as Apex would (validates required fields and lengths), e.g. from the trigger hook. */
  publish(topic: string, payload: Record<string, unknown>): PublishedEvent;
  /** Publishes bytes as they are under the topic's schema id, as the Publish RPC accepts them (no Avro check). */
  publishBytes(topic: string, payload: Buffer): PublishedEvent;
  schemaFor(topic: string): EventSchema;
  close(): Promise<void>;
  faults: PubSubFaults;
  managedSubscriptions: ManagedSubscriptions;
  readonly counters: Readonly<PubSubCounters>;
}

interface Topic {
  schema: EventSchema;
  log: EventLog;
  subscriptions: Set<Subscription>;
}

interface Subscription {
  pump(): void;
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Codes the contract does not list; the sandbox names them in the platform's style.
const TOPIC_NOT_FOUND = 'sfdc.platform.eventbus.grpc.topic.not.found';
const TOPIC_MISMATCH = 'sfdc.platform.eventbus.grpc.subscription.fetch.topic.mismatch';
const SCHEMA_NOT_FOUND = 'sfdc.platform.eventbus.grpc.schema.not.found';
const MANAGED_NOT_FOUND = 'sfdc.platform.eventbus.grpc.managed.subscription.not.found';
const MANAGED_INVALID = 'sfdc.platform.eventbus.grpc.managed.subscription.fetch.invalid';
const MANAGED_NOT_RUNNING = 'sfdc.platform.eventbus.grpc.managed.subscription.not.running';
const MANAGED_IN_USE = 'sfdc.platform.eventbus.grpc.managed.subscription.in.use';
// The key prefix of ManagedEventSubscription ids is not documented; this one is the sandbox's.
const MANAGED_ID_PREFIX = '18x';

export async function createPubSubSandbox(options: PubSubSandboxOptions): Promise<PubSubSandbox> {
  const logger = (options.logger ?? silentLogger()).child({ module: 'sandbox.pubsub' });
  const retentionMs = options.retentionMs ?? 3 * DAY_MS;
  const keepaliveMs = options.keepaliveMs ?? 270_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const counter = createReplayIdCounter();
  const topics = new Map<string, Topic>();
  for (const eventName of options.eventNames ?? ['Referral_Sync__e']) {
    const schema = loadEventSchema(options.forceAppDir, eventName);
    topics.set(schema.topicName, {
      schema,
      log: createEventLog({ retentionMs, counter }),
      subscriptions: new Set(),
    });
  }

  const counters: PubSubCounters = {
    subscribeCalls: 0,
    activeSubscriptions: 0,
    fetchRequests: 0,
    eventResponses: 0,
    eventsDelivered: 0,
    keepalives: 0,
    responsesWithZeroPending: 0,
    idleClosures: 0,
    droppedStreams: 0,
    eventsPublished: 0,
    commits: 0,
  };
  let latencyMs = 0;
  let dropAfterEvents: number | null = null;
  const openCalls = new Set<NodeJS.EventEmitter>();
  const managed = new Map<string, ManagedSubscription>();
  const defineManaged = (definition: ManagedSubscriptionDefinition): ManagedSubscription => {
    if (!topics.has(definition.topicName)) throw new Error(`Topic ${definition.topicName} does not exist`);
    if ([...managed.values()].some((entry) => entry.developerName === definition.developerName))
      throw new Error(`Managed subscription ${definition.developerName} already exists`);
    const serial = String(managed.size + 1).padStart(12, '0');
    const entry: ManagedSubscription = {
      id: `${MANAGED_ID_PREFIX}${serial}AAA`,
      developerName: definition.developerName,
      topicName: definition.topicName,
      defaultReplay: definition.defaultReplay ?? 'LATEST',
      errorRecoveryReplay: definition.errorRecoveryReplay ?? 'LATEST',
      state: definition.state ?? 'RUN',
      committedReplayId: null,
      streaming: false,
    };
    managed.set(entry.id, entry);
    return entry;
  };
  for (const definition of options.managedSubscriptions ?? []) defineManaged(definition);

  function statusError(
    code: grpc.status,
    errorCode: string,
    message: string,
    rpcId: string,
  ): grpc.ServerErrorResponse {
    const trailers = new grpc.Metadata();
    trailers.set(ERROR_CODE_TRAILER, errorCode);
    trailers.set('rpc-id', rpcId);
    return Object.assign(new Error(message), {
      code,
      details: `${message} rpcId: ${rpcId}`,
      metadata: trailers,
    });
  }

  function authenticateCall(metadata: grpc.Metadata): Principal | null {
    const first = (key: string): string | undefined => {
      const value = metadata.get(key)[0];
      return typeof value === 'string' ? value : undefined;
    };
    return options.authenticate({
      accessToken: first('accesstoken'),
      instanceUrl: first('instanceurl'),
      tenantId: first('tenantid'),
    });
  }

  /** What the platform answers a call with a bad token: UNAUTHENTICATED plus the auth error-code trailer. */
  function unauthenticated(rpcId: string): grpc.ServerErrorResponse {
    return statusError(
      grpc.status.UNAUTHENTICATED,
      PUBSUB_ERROR_CODES.authError,
      'Invalid or expired access token',
      rpcId,
    );
  }

  function storeEvent(topic: Topic, event: ProducerEvent): PublishedEvent {
    const stored = topic.log.append(event);
    counters.eventsPublished += 1;
    for (const subscription of topic.subscriptions) subscription.pump();
    return { eventId: event.id, replayId: stored.replayId };
  }

  /** Runs a unary handler behind auth and the latency fault, mapping thrown statuses to the callback. */
  function unary<Req, Res>(
    handle: (request: Req, principal: Principal, rpcId: string) => Res,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const rpcId = randomUUID();
      void (async () => {
        if (latencyMs > 0) await delay(latencyMs);
        const principal = authenticateCall(call.metadata);
        if (!principal) {
          callback(unauthenticated(rpcId));
          return;
        }
        try {
          callback(null, handle(call.request, principal, rpcId));
        } catch (error) {
          callback(error as grpc.ServerErrorResponse);
        }
      })();
    };
  }

  function topicOrThrow(name: string, rpcId: string): Topic {
    const topic = topics.get(name);
    if (!topic)
      throw statusError(
        grpc.status.NOT_FOUND,
        TOPIC_NOT_FOUND,
        `Topic ${name || '(none)'} does not exist`,
        rpcId,
      );
    return topic;
  }

  function publishRequest(request: PublishRequest, rpcId: string): PublishResponse {
    const topic = topicOrThrow(request.topic_name, rpcId);
    // Pub/Sub does not validate Avro on publish (contracts §1.6); it only needs a schema it knows.
    const results = request.events.map((event): PublishResult => {
      const id = event.id || randomUUID();
      if (event.schema_id !== topic.schema.schemaId) {
        return {
          replay_id: Buffer.alloc(0),
          error: { code: 'PUBLISH', msg: `Unknown schema id ${event.schema_id}` },
          correlation_key: id,
        };
      }
      const published = storeEvent(topic, {
        id,
        schema_id: event.schema_id,
        payload: event.payload,
        headers: event.headers,
      });
      return { replay_id: published.replayId, error: null, correlation_key: id };
    });
    return { results, schema_id: topic.schema.schemaId, rpc_id: rpcId };
  }

  /**
   * One Subscribe or ManagedSubscribe stream. Both RPCs deliver the same way (pull-based, at most
   * 100 owed, keepalives, idle close); `mode` decides where a stream starts and what a later
   * request may carry.
   */
  function runStream<Req>(
    call: grpc.ServerDuplexStream<Req, FetchResponse | ManagedFetchResponse>,
    mode: StreamMode<Req>,
  ): void {
    const rpcId = randomUUID();
    counters.subscribeCalls += 1;
    const principal = authenticateCall(call.metadata);
    if (!principal) {
      call.emit('error', unauthenticated(rpcId));
      return;
    }
    openCalls.add(call);
    counters.activeSubscriptions += 1;

    let topic: Topic | null = null;
    let cursor = 0;
    let pending = 0;
    let pumping = false;
    let closed = false;
    // The stream's position as the client last saw it: the last event sent, or a keepalive's id.
    let latest: Buffer | null = null;
    let keepaliveTimer: NodeJS.Timeout | undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    const subscription: Subscription = { pump: () => void pump() };

    function cleanup(): void {
      if (closed) return;
      closed = true;
      clearTimeout(keepaliveTimer);
      clearTimeout(idleTimer);
      topic?.subscriptions.delete(subscription);
      openCalls.delete(call);
      counters.activeSubscriptions -= 1;
      mode.closed?.();
    }

    function fail(failure: StreamFailure): void {
      if (closed) return;
      cleanup();
      logger.debug({ rpcId, errorCode: failure.errorCode }, 'subscription failed');
      call.emit('error', statusError(failure.code, failure.errorCode, failure.message, rpcId));
    }

    function armTimers(): void {
      clearTimeout(keepaliveTimer);
      keepaliveTimer = setTimeout(sendKeepalive, keepaliveMs);
      if (pending > 0) {
        clearTimeout(idleTimer);
        idleTimer = undefined;
      } else if (!idleTimer) {
        idleTimer = setTimeout(() => {
          if (closed) return;
          counters.idleClosures += 1;
          cleanup();
          call.end();
        }, idleTimeoutMs);
      }
    }

    function send(response: FetchResponse | ManagedFetchResponse): void {
      if (response.pending_num_requested === 0) counters.responsesWithZeroPending += 1;
      latest = response.latest_replay_id;
      call.write(response);
      armTimers();
    }

    function sendKeepalive(): void {
      if (closed || !topic) return;
      if (pending > 0 && !pumping) {
        counters.keepalives += 1;
        send({
          events: [],
          latest_replay_id: topic.log.tip(),
          rpc_id: rpcId,
          pending_num_requested: pending,
        });
      } else {
        armTimers();
      }
    }

    async function pump(): Promise<void> {
      if (pumping || closed || !topic) return;
      pumping = true;
      try {
        for (;;) {
          if (closed || pending === 0 || topic.log.eventsAfter(cursor, 1).length === 0) break;
          // The batch is taken after the delay, so events published meanwhile join it.
          if (latencyMs > 0) await delay(latencyMs);
          if (closed) break;
          const batch = topic.log.eventsAfter(cursor, pending);
          if (batch.length === 0) break;
          const dropAfter = dropAfterEvents;
          const sent = dropAfter === null ? batch : batch.slice(0, dropAfter);
          if (sent.length > 0) {
            cursor = sent[sent.length - 1].seq;
            pending -= sent.length;
            counters.eventResponses += 1;
            counters.eventsDelivered += sent.length;
            send({
              events: sent.map((stored) => ({ event: stored.event, replay_id: stored.replayId })),
              latest_replay_id: sent[sent.length - 1].replayId,
              rpc_id: rpcId,
              pending_num_requested: pending,
            });
          }
          if (dropAfter !== null) {
            dropAfterEvents = null;
            counters.droppedStreams += 1;
            fail({
              code: grpc.status.UNAVAILABLE,
              errorCode: PUBSUB_ERROR_CODES.serviceUnavailable,
              message: 'Stream dropped by the sandbox fault',
            });
            break;
          }
        }
      } finally {
        pumping = false;
      }
    }

    function onRequest(request: Req): void {
      if (closed) return;
      counters.fetchRequests += 1;
      if (!topic) {
        const opened = mode.open(request);
        if ('errorCode' in opened) return fail(opened);
        topic = opened.topic;
        cursor = opened.afterSeq;
        topic.subscriptions.add(subscription);
      } else {
        const problem = mode.follow(request);
        if (problem) return fail(problem);
      }
      // The platform owes at most 100 events per stream and treats anything above as 100 (§1.3).
      pending = Math.min(MAX_NUM_REQUESTED, pending + Math.max(0, mode.numRequested(request)));
      const open = topic;
      const answer = mode.answer?.(request, open);
      if (answer) {
        send({
          events: [],
          latest_replay_id: latest ?? open.log.tip(),
          rpc_id: rpcId,
          pending_num_requested: pending,
          ...answer,
        });
      }
      armTimers();
      void pump();
    }

    call.on('data', onRequest);
    call.on('end', () => {
      if (closed) return;
      cleanup();
      call.end();
    });
    call.on('cancelled', cleanup);
    call.on('error', cleanup);
    call.on('close', cleanup);
  }

  function topicNotFound(name: string): StreamFailure {
    return {
      code: grpc.status.NOT_FOUND,
      errorCode: TOPIC_NOT_FOUND,
      message: `Topic ${name || '(none)'} does not exist`,
    };
  }

  function subscribe(call: grpc.ServerDuplexStream<FetchRequest, FetchResponse>): void {
    let topicName = '';
    runStream<FetchRequest>(call, {
      open(request) {
        const topic = topics.get(request.topic_name);
        if (!topic) return topicNotFound(request.topic_name);
        topicName = topic.schema.topicName;
        if (request.replay_preset === 'CUSTOM') {
          if (request.replay_id.length === 0) {
            return {
              code: grpc.status.INVALID_ARGUMENT,
              errorCode: PUBSUB_ERROR_CODES.replayIdValidationFailed,
              message: 'CUSTOM replay needs a replay_id',
            };
          }
          const position = topic.log.resolve(request.replay_id);
          if (!position.ok) {
            return {
              code: grpc.status.INVALID_ARGUMENT,
              errorCode: PUBSUB_ERROR_CODES.replayIdCorrupted,
              message: `Replay id is ${position.reason}`,
            };
          }
          return { topic, afterSeq: position.afterSeq };
        }
        const afterSeq =
          request.replay_preset === 'EARLIEST' ? topic.log.earliestAfterSeq() : topic.log.latestSeq();
        return { topic, afterSeq };
      },
      follow(request) {
        if (request.topic_name === '' || request.topic_name === topicName) return null;
        return {
          code: grpc.status.INVALID_ARGUMENT,
          errorCode: TOPIC_MISMATCH,
          message: `Topic cannot change from ${topicName} to ${request.topic_name}`,
        };
      },
      numRequested: (request) => request.num_requested,
    });
  }

  function findManaged(idOrName: string): ManagedSubscription | undefined {
    return managed.get(idOrName) ?? [...managed.values()].find((entry) => entry.developerName === idOrName);
  }

  /**
   * ManagedSubscribe (beta, contracts §1.1): the first request names a ManagedEventSubscription by
   * id or developer name; delivery starts after the replay id committed on it, else at its
   * `defaultReplay`; a committed id that expired resumes at `errorRecoveryReplay`. A commit rides
   * on any later request and is answered by a response carrying `commit_response` (and no events).
   */
  function managedSubscribe(call: grpc.ServerDuplexStream<ManagedFetchRequest, ManagedFetchResponse>): void {
    let entry: ManagedSubscription | null = null;
    const invalid = (message: string): StreamFailure => ({
      code: grpc.status.INVALID_ARGUMENT,
      errorCode: MANAGED_INVALID,
      message,
    });
    runStream<ManagedFetchRequest>(call, {
      open(request) {
        const wanted = request.subscription_id || request.developer_name;
        if (!wanted) return invalid('ManagedFetchRequest needs a subscription_id or developer_name');
        const found = findManaged(wanted);
        if (
          !found ||
          (request.subscription_id &&
            request.developer_name &&
            found.developerName !== request.developer_name)
        ) {
          return {
            code: grpc.status.NOT_FOUND,
            errorCode: MANAGED_NOT_FOUND,
            message: `Managed subscription ${wanted} does not exist`,
          };
        }
        if (found.state !== 'RUN') {
          return {
            code: grpc.status.FAILED_PRECONDITION,
            errorCode: MANAGED_NOT_RUNNING,
            message: `Managed subscription ${found.developerName} is in state ${found.state}`,
          };
        }
        if (found.streaming) {
          // "A managed subscription is unique per client and can't be shared with other clients."
          return {
            code: grpc.status.FAILED_PRECONDITION,
            errorCode: MANAGED_IN_USE,
            message: `Managed subscription ${found.developerName} already has an open stream`,
          };
        }
        const topic = topics.get(found.topicName);
        if (!topic) return topicNotFound(found.topicName);
        const preset = (name: ReplayStart): number =>
          name === 'EARLIEST' ? topic.log.earliestAfterSeq() : topic.log.latestSeq();
        let afterSeq = preset(found.defaultReplay);
        if (found.committedReplayId) {
          const position = topic.log.resolve(found.committedReplayId);
          afterSeq = position.ok ? position.afterSeq : preset(found.errorRecoveryReplay);
        }
        found.streaming = true;
        entry = found;
        return { topic, afterSeq };
      },
      follow(request) {
        if (!entry) return null;
        if (request.subscription_id && request.subscription_id !== entry.id)
          return invalid(`subscription_id cannot change from ${entry.id} to ${request.subscription_id}`);
        if (request.developer_name && request.developer_name !== entry.developerName)
          return invalid(
            `developer_name cannot change from ${entry.developerName} to ${request.developer_name}`,
          );
        return null;
      },
      numRequested: (request) => request.num_requested,
      answer(request, topic) {
        const commit = request.commit_replay_id_request;
        if (!commit || !entry) return undefined;
        const position = topic.log.resolve(commit.replay_id);
        if (position.ok) {
          entry.committedReplayId = Buffer.from(commit.replay_id);
          counters.commits += 1;
        }
        return {
          commit_response: {
            commit_request_id: commit.commit_request_id,
            replay_id: commit.replay_id,
            error: position.ok ? null : { code: 'COMMIT', msg: `Replay id is ${position.reason}` },
            process_time: String(Date.now()),
          },
        };
      },
      closed() {
        if (entry) entry.streaming = false;
      },
    });
  }

  function publishStream(call: grpc.ServerDuplexStream<PublishRequest, PublishResponse>): void {
    const rpcId = randomUUID();
    const principal = authenticateCall(call.metadata);
    if (!principal) {
      call.emit('error', unauthenticated(rpcId));
      return;
    }
    let topicName: string | null = null;
    let failed = false;
    call.on('data', (request: PublishRequest) => {
      if (failed) return;
      try {
        if (topicName !== null && request.topic_name !== '' && request.topic_name !== topicName) {
          throw statusError(
            grpc.status.INVALID_ARGUMENT,
            TOPIC_MISMATCH,
            `Topic cannot change from ${topicName} to ${request.topic_name}`,
            rpcId,
          );
        }
        topicName ??= request.topic_name;
        call.write(publishRequest({ ...request, topic_name: topicName }, rpcId));
      } catch (error) {
        failed = true;
        call.emit('error', error as grpc.ServerErrorResponse);
      }
    });
    call.on('end', () => {
      if (!failed) call.end();
    });
  }

  const server = new grpc.Server();
  server.addService(loadPubSubDefinition().service, {
    GetTopic: unary<TopicRequest, TopicInfo>((request, principal, rpcId) => {
      const topic = topicOrThrow(request.topic_name, rpcId);
      return {
        topic_name: topic.schema.topicName,
        tenant_guid: principal.orgId,
        can_publish: true,
        can_subscribe: true,
        schema_id: topic.schema.schemaId,
        rpc_id: rpcId,
      };
    }),
    GetSchema: unary<SchemaRequest, SchemaInfo>((request, _principal, rpcId) => {
      for (const topic of topics.values()) {
        if (topic.schema.schemaId === request.schema_id) {
          return { schema_json: topic.schema.schemaJson, schema_id: topic.schema.schemaId, rpc_id: rpcId };
        }
      }
      throw statusError(
        grpc.status.NOT_FOUND,
        SCHEMA_NOT_FOUND,
        `Schema ${request.schema_id || '(none)'} does not exist`,
        rpcId,
      );
    }),
    Publish: unary<PublishRequest, PublishResponse>((request, _principal, rpcId) =>
      publishRequest(request, rpcId),
    ),
    PublishStream: publishStream,
    Subscribe: subscribe,
    ManagedSubscribe: managedSubscribe,
  });

  const tls = await sandboxTls();
  const port = await new Promise<number>((resolve, reject) => {
    // A host name, as the real endpoint has: TLS clients send it as SNI (an IP address there is
    // deprecated in Node), and the certificate names both localhost and 127.0.0.1.
    server.bindAsync(
      `localhost:${options.port ?? 0}`,
      grpc.ServerCredentials.createSsl(null, [
        { private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) },
      ]),
      (error, boundPort) => (error ? reject(error) : resolve(boundPort)),
    );
  });
  logger.info({ port, topics: [...topics.keys()] }, 'pub/sub sandbox listening (TLS)');

  return {
    endpoint: `localhost:${port}`,
    caPem: tls.caPem,
    counters,
    publish(topicName, payload) {
      const topic = topics.get(topicName);
      if (!topic) throw new Error(`Topic ${topicName} does not exist`);
      const full: Record<string, unknown> = { CreatedDate: Date.now(), ...payload };
      for (const field of topic.schema.fields) full[field.name] ??= null;
      const problems = validateEvent(topic.schema, full);
      if (problems.length > 0)
        throw new Error(`Cannot publish ${topic.schema.eventName}: ${problems.join('; ')}`);
      return storeEvent(topic, {
        id: randomUUID(),
        schema_id: topic.schema.schemaId,
        payload: topic.schema.type.toBuffer(full),
        headers: [],
      });
    },
    publishBytes(topicName, payload) {
      const topic = topics.get(topicName);
      if (!topic) throw new Error(`Topic ${topicName} does not exist`);
      return storeEvent(topic, { id: randomUUID(), schema_id: topic.schema.schemaId, payload, headers: [] });
    },
    schemaFor(topicName) {
      const topic = topics.get(topicName);
      if (!topic) throw new Error(`Topic ${topicName} does not exist`);
      return topic.schema;
    },
    managedSubscriptions: {
      define: (definition) => ({ ...defineManaged(definition) }),
      get(idOrName) {
        const entry = findManaged(idOrName);
        return entry && { ...entry };
      },
      setState(idOrName, state) {
        const entry = findManaged(idOrName);
        if (!entry) throw new Error(`Managed subscription ${idOrName} does not exist`);
        entry.state = state;
      },
    },
    faults: {
      dropStreamMidBatch(afterEvents) {
        dropAfterEvents = Math.max(0, afterEvents);
      },
      expireReplayIds() {
        for (const topic of topics.values()) topic.log.expireAll();
      },
      setLatency(ms) {
        latencyMs = Math.max(0, ms);
      },
      reset() {
        latencyMs = 0;
        dropAfterEvents = null;
      },
    },
    async close() {
      for (const call of openCalls) {
        call.emit(
          'error',
          statusError(
            grpc.status.UNAVAILABLE,
            PUBSUB_ERROR_CODES.serviceUnavailable,
            'Server shutting down',
            randomUUID(),
          ),
        );
      }
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
