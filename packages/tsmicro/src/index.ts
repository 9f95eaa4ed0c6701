/**
 * tsmicro: go-micro's microservices toolkit for TypeScript, deadlock-free by construction.
 * The public surface, curated: names follow go-micro (client.DefaultClient → defaultClient).
 */

// Messaging (issue 5): brokers, client publish, service subscribers.
export {
  type Broker,
  type BrokerHandler,
  type BrokerOptions,
  DEFAULT_MAX_DELIVER,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  DEFAULT_RETRY_DELAY_MS,
  defaultDeadLetterTopic,
  type Event,
  HEADER,
  type Headers as MessageHeaders,
  type Message as BrokerMessage,
  type PublishOptions,
  type SubscribeOptions,
  type Subscriber,
} from "./broker/broker.js";
export {
  type DeliverContext,
  type Delivery,
  deadLetterMessage,
  deliver,
  type Settle,
} from "./broker/deliver.js";
export {
  BROKER_KINDS,
  BROKER_PACKAGES,
  type BrokerFromAddress,
  type BrokerFromEnvOptions,
  brokerFromEnv,
  defaultBroker,
} from "./broker/env.js";
export { createHttpBroker, DEFAULT_HTTP_BROKER_OPTIONS, type HttpBrokerOptions } from "./broker/http.js";
export {
  decodeHttpMessage as decodeMessageFrame,
  encodeHttpMessage as encodeMessageFrame,
} from "./broker/http-wire.js";
export { createMemoryBroker, type MemoryBrokerOptions } from "./broker/memory.js";
export {
  checkMessage,
  checkTopic,
  errorSink,
  normalizeHeaders,
  notConnected,
  type PublishDeadline,
  publishDeadline,
  type ResolvedSubscribeOptions,
  resolveSubscribeOptions,
} from "./broker/options.js";
export { type PublishAttempt, publishWithRetry } from "./broker/publish.js";
export { SerialSubscription } from "./broker/serial.js";
export type { Client, ClientStats } from "./client/client.js";
export { defaultClient, newClient } from "./client/client.js";
export type { CallFn, CallOptions, CallWrapper, ClientOptions } from "./client/options.js";
export {
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_MAX_CALL_DEPTH,
  DEFAULT_POOL_SIZE,
  DEFAULT_POOL_TTL_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRIES,
} from "./client/options.js";
export { type Message, newMessage, type PublishCallOptions } from "./client/publish.js";
export { newRequest, type Request } from "./client/request.js";
// Streaming and typed contracts (issue 6).
export type { Stream, StreamOptions } from "./client/stream.js";
export {
  type Codec,
  CodecRegistry,
  createJsonCodec,
  createMsgpackCodec,
  defaultCodecs,
} from "./codec/index.js";
export {
  background,
  type Context,
  type Metadata,
  remainingMs,
  withCancel,
  withDeadline,
  withMetadata,
  withTimeout,
} from "./context.js";
export {
  bidiStream,
  type Contract,
  clientStream,
  defineContract,
  type EndpointKind,
  type EndpointOptions,
  type EndpointSpec,
  type Endpoints,
  endpointName,
  type RequestOf,
  type ResponseOf,
  type Serde,
  serverStream,
  unary,
  type WireFormat,
} from "./contract/contract.js";
export { type HandlerOf, type Implementation, implement } from "./contract/implement.js";
export type { MethodOf, ProxyCallOptions, ResponseStream, ServiceProxy } from "./contract/proxy.js";
export type { StandardSchemaV1 } from "./contract/standard-schema.js";
export { formatPath, validate } from "./contract/validate.js";
export {
  abortError,
  badRequest,
  cancelled,
  conflict,
  forbidden,
  internalServerError,
  isMicroError,
  MicroError,
  type MicroErrorInit,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  serviceUnavailable,
  statusText,
  timeout,
  tooManyRequests,
  unauthorized,
} from "./errors.js";
export type { CallPhase, InflightSnapshot } from "./inflight.js";
export {
  defaultRegistry,
  REGISTRY_KINDS,
  REGISTRY_PACKAGES,
  type RegistryFromAddress,
  type RegistryFromEnvOptions,
  registryFromEnv,
} from "./registry/default.js";
export { createReadThrough, type ReadThrough } from "./registry/last-answer.js";
export { createLocalRegistry, DEFAULT_LOCAL_POLL_MS, type LocalRegistryOptions } from "./registry/local.js";
export { createMemoryRegistry } from "./registry/memory.js";
export type {
  Endpoint,
  Node,
  RegisterOptions,
  Registry,
  RegistryEvent,
  RegistryEventType,
  Service,
  Watcher,
  WatchOptions,
} from "./registry/registry.js";
// For registry implementations outside the core (etcd, NATS): one row per node, and watch fan-out.
export {
  eventOf as registryEventOf,
  parseRow as parseRegistryRow,
  type Row as RegistryRow,
  rowsOf as registryRowsOf,
  servicesOf as servicesOfRows,
} from "./registry/table.js";
export { createWatcherSet, type WatcherSet } from "./registry/watchers.js";
export {
  createSelector,
  type SelectOptions,
  type Selector,
  type SelectorOptions,
} from "./selector/selector.js";
export {
  filterMetadata,
  filterVersion,
  leastInflight,
  type NodeFilter,
  type NodeLoad,
  random,
  roundRobin,
  type Strategy,
} from "./selector/strategy.js";
export {
  type Bulkhead,
  type BulkheadOptions,
  createBulkhead,
  type LimitOptions,
  type Release,
} from "./server/bulkhead.js";
export type { HandleOptions } from "./server/router.js";
export type { HandlerFn, HandlerRequest, HandlerWrapper } from "./server/server.js";
export {
  isUnknownEndpoint,
  type Mountable,
  type StreamHandlerFn,
  type StreamKind,
  setResponseHeader,
  setResponseTrailer,
} from "./server/stream.js";
export {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_REGISTER_INTERVAL_MS,
  DEFAULT_REGISTER_TTL_MS,
  type MicroService,
  newService,
  type ServiceOptions,
} from "./service/service.js";
export type { ServiceSubscribeOptions, SubscriberFn } from "./service/subscribe.js";
// For backend authors (belongs in tsmicro/plugin once it exists).
export {
  applyQuery,
  type BackendWrite,
  compareKeys,
  defineStore,
  type Query as StoreBackendQuery,
  type Scope as StoreBackendScope,
  type StoreBackend,
  storeDefaults,
} from "./store/backend.js";
export { STORE_NAME_PATTERN, versionConflict } from "./store/check.js";
export {
  defaultStore,
  STORE_KINDS,
  STORE_PACKAGES,
  type StoreFromAddress,
  type StoreFromEnvOptions,
  storeFromEnv,
} from "./store/env.js";
// ── Platform packages: store, config, cache (issue 18) ──────────────────────────────────────
// For applications: the store.
export { createMemoryStore, type MemoryStoreOptions } from "./store/memory.js";
export {
  DEFAULT_STORE_DATABASE,
  DEFAULT_STORE_LIMITS,
  DEFAULT_STORE_TABLE,
  type ListOptions,
  type ReadOptions,
  type Store,
  type StoredRecord,
  type StoreLimits,
  type StoreOptions,
  type StoreQuery,
  type StoreRecord,
  type StoreScope,
  type WriteOptions,
  type WriteResult,
} from "./store/store.js";
// Addresses beyond one machine (issue 12): what a listener registers (advertise, wildcard binds).
export {
  type AdvertiseOptions,
  advertisedAddress,
  ENV_BROKER_ADVERTISE,
  ENV_SERVER_ADDRESS,
  ENV_SERVER_ADVERTISE,
  type InterfaceList,
  interfaceHost,
  isWildcardHost,
  joinHostPort,
} from "./transport/address.js";
export { isTransportFailure, markTransportFailure } from "./transport/failure.js";
export { DEFAULT_MAX_FRAME_BYTES } from "./transport/frame.js";
export { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./transport/limits.js";
export { listenAt } from "./transport/listen.js";
export { STREAM_WINDOW_BYTES } from "./transport/stream.js";
export { createTcpTransport, DEFAULT_TCP_OPTIONS, type TcpTransportOptions } from "./transport/tcp.js";
export { parseAddress } from "./transport/tcp-server.js";
export { DEFAULT_TLS_MIN_VERSION, type TcpTlsOptions } from "./transport/tls.js";
export type {
  Connection,
  DialOptions,
  InboundRequest,
  InboundStream,
  Listener,
  RequestHandler,
  RequestHeaders,
  StreamHandler,
  Transport,
  TransportRequest,
  TransportResponse,
  TransportStream,
} from "./transport/transport.js";
export { describeStuck, startWatchdog, type WatchdogOptions } from "./watchdog.js";
