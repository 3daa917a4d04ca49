import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * Loads `relay/proto/pubsub_api.proto` (eventbus.v1.PubSub) once, for both the relay's subscriber
 * and the Salesforce sandbox's server, and types the messages as proto-loader hands them over
 * with the options below (snake_case keys, enums as names, bytes as Buffers, defaults filled in).
 */
export const PUBSUB_PROTO_PATH = fileURLToPath(new URL('../../../proto/pubsub_api.proto', import.meta.url));

export type ReplayPreset = 'LATEST' | 'EARLIEST' | 'CUSTOM';

export interface TopicRequest {
  topic_name: string;
}
export interface TopicInfo {
  topic_name: string;
  tenant_guid: string;
  can_publish: boolean;
  can_subscribe: boolean;
  schema_id: string;
  rpc_id: string;
}
export interface SchemaRequest {
  schema_id: string;
}
export interface SchemaInfo {
  schema_json: string;
  schema_id: string;
  rpc_id: string;
}
export interface EventHeader {
  key: string;
  value: Buffer;
}
export interface ProducerEvent {
  id: string;
  schema_id: string;
  payload: Buffer;
  headers: EventHeader[];
}
export interface ConsumerEvent {
  event: ProducerEvent | null;
  replay_id: Buffer;
}
export interface PublishError {
  code: 'UNKNOWN' | 'PUBLISH' | 'COMMIT';
  msg: string;
}
export interface PublishRequest {
  topic_name: string;
  events: ProducerEvent[];
  auth_refresh: string;
}
export interface PublishResult {
  replay_id: Buffer;
  error: PublishError | null;
  correlation_key: string;
}
export interface PublishResponse {
  results: PublishResult[];
  schema_id: string;
  rpc_id: string;
}
export interface FetchRequest {
  topic_name: string;
  replay_preset: ReplayPreset;
  replay_id: Buffer;
  num_requested: number;
  auth_refresh: string;
}
export interface FetchResponse {
  events: ConsumerEvent[];
  latest_replay_id: Buffer;
  rpc_id: string;
  pending_num_requested: number;
}
// Managed subscriptions (beta): the server keeps the committed replay id of a named subscription.
export interface CommitReplayRequest {
  commit_request_id: string;
  replay_id: Buffer;
}
export interface CommitReplayResponse {
  commit_request_id: string;
  replay_id: Buffer;
  error: PublishError | null;
  /** Epoch ms at which the server received the commit (an int64, a string with `longs: String`). */
  process_time: string;
}
export interface ManagedFetchRequest {
  subscription_id: string;
  developer_name: string;
  num_requested: number;
  auth_refresh: string;
  commit_replay_id_request: CommitReplayRequest | null;
}
export interface ManagedFetchResponse extends FetchResponse {
  commit_response: CommitReplayResponse | null;
}

/** Trailer key under which Pub/Sub puts its own error code (contracts/salesforce.md §1.5). */
export const ERROR_CODE_TRAILER = 'error-code';
export const PUBSUB_ERROR_CODES = {
  authError: 'sfdc.platform.eventbus.grpc.service.auth.error',
  authRefreshInvalid: 'sfdc.platform.eventbus.grpc.service.auth.refresh.invalid',
  replayIdCorrupted: 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted',
  replayIdValidationFailed: 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed',
  serviceUnavailable: 'sfdc.platform.eventbus.grpc.service.unavailable',
} as const;

/** Most events a subscriber may have outstanding on one Subscribe stream (§1.3). */
export const MAX_NUM_REQUESTED = 100;

export interface PubSubServiceClient extends grpc.Client {
  GetTopic(
    request: Partial<TopicRequest>,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<TopicInfo>,
  ): grpc.ClientUnaryCall;
  GetSchema(
    request: Partial<SchemaRequest>,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<SchemaInfo>,
  ): grpc.ClientUnaryCall;
  Publish(
    request: Partial<PublishRequest>,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<PublishResponse>,
  ): grpc.ClientUnaryCall;
  Subscribe(metadata: grpc.Metadata): grpc.ClientDuplexStream<Partial<FetchRequest>, FetchResponse>;
  PublishStream(metadata: grpc.Metadata): grpc.ClientDuplexStream<Partial<PublishRequest>, PublishResponse>;
  ManagedSubscribe(
    metadata: grpc.Metadata,
  ): grpc.ClientDuplexStream<Partial<ManagedFetchRequest>, ManagedFetchResponse>;
}

export interface PubSubDefinition {
  service: grpc.ServiceDefinition;
  Client: new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ChannelOptions,
  ) => PubSubServiceClient;
}

let loaded: PubSubDefinition | undefined;

export function loadPubSubDefinition(): PubSubDefinition {
  if (loaded) return loaded;
  const packageDefinition = protoLoader.loadSync(PUBSUB_PROTO_PATH, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const grpcObject = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    eventbus: { v1: { PubSub: grpc.ServiceClientConstructor } };
  };
  const constructor = grpcObject.eventbus.v1.PubSub;
  loaded = {
    service: constructor.service,
    Client: constructor as unknown as PubSubDefinition['Client'],
  };
  return loaded;
}

/** The auth metadata Pub/Sub reads on every call (contracts/salesforce.md §1.2). */
export function authMetadata(auth: {
  accessToken: string;
  instanceUrl: string;
  tenantId: string;
}): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('accesstoken', auth.accessToken);
  metadata.set('instanceurl', auth.instanceUrl);
  metadata.set('tenantid', auth.tenantId);
  return metadata;
}
