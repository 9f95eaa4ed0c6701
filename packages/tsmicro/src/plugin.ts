/**
 * tsmicro/plugin: helpers for authors of backends — brokers, registries, transports, codecs,
 * selectors, bulkheads — and of tools that sit beside a service (gateway, health, metrics).
 *
 * NOT COVERED BY SEMVER. These names follow the core's internals and may change in any minor
 * release; pin tsmicro's exact version in a package built on them. Applications import from
 * `tsmicro` (and `tsmicro/testing` in tests), whose names are stable.
 */

// Brokers.
export {
  type BrokerHandler,
  type BrokerMessage,
  type BrokerOptions,
  DEFAULT_MAX_DELIVER,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  DEFAULT_RETRY_DELAY_MS,
  defaultDeadLetterTopic,
  type Event,
  HEADER,
  type MessageHeaders,
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
} from "./broker/env.js";
export { createHttpBroker, DEFAULT_HTTP_BROKER_OPTIONS, type HttpBrokerOptions } from "./broker/http.js";
export {
  createSubscriptionEndpoint,
  type EndpointSubscription,
  type SubscriptionEndpoint,
  type SubscriptionEndpointOptions,
} from "./broker/http-endpoint.js";
export { postToSubscriber, type SubscriberPost } from "./broker/http-post.js";
export type { MemoryBrokerOptions } from "./broker/memory.js";
export {
  decodeMessageFrame,
  encodeMessageFrame,
  MESSAGE_FRAME_CONTENT_TYPE,
} from "./broker/message-frame.js";
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
// Caches (backends) and the cache wrapper's options.
export type { Cache, CacheCallOption } from "./cache/cache.js";
export { createMemoryCache, DEFAULT_MEMORY_CACHE_OPTIONS, type MemoryCacheOptions } from "./cache/memory.js";
export type { CacheWrapperOptions } from "./cache/wrapper.js";
export type {
  BreakerOptions,
  BreakerState,
  BreakerStateName,
} from "./client/breaker.js";
export type { ClientStats } from "./client/client.js";
export type { HedgeOptions } from "./client/hedge.js";
// Client and server internals a backend or tool plugs into; the client's option resolution.
export {
  type CallFn,
  CLIENT_DEFAULTS,
  type ClientDependencies,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_MAX_CALL_DEPTH,
  DEFAULT_POOL_SIZE,
  DEFAULT_POOL_TTL_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRIES,
  resolveClientOptions,
} from "./client/options.js";
export { defaultRetry, type RetryPredicate } from "./client/retry.js";
// Codecs.
export {
  type Codec,
  CodecRegistry,
  createJsonCodec,
  createMsgpackCodec,
  defaultCodecs,
} from "./codec/index.js";
// Config sources (backends) and the options of the built-in ones.
export type { Config, ConfigChange, LoadConfigOptions } from "./config/config.js";
export {
  type ConfigSource,
  type ConfigValues,
  camelCase,
  leafPaths,
  mergeValues,
  parseScalar,
  setPath,
} from "./config/source.js";
export {
  defaultsSource,
  type EnvSourceOptions,
  envSource,
  type FileSourceOptions,
  type FlagSourceOptions,
  fileSource,
  flagSource,
} from "./config/sources.js";
export { createContext } from "./context.js";
// Contracts, below the application helpers.
export type {
  EndpointKind,
  EndpointOptions,
  EndpointSpec,
  Endpoints,
  RequestOf,
  ResponseOf,
  Serde,
  WireFormat,
} from "./contract/contract.js";
export { endpointName } from "./contract/contract.js";
export type { HandlerOf } from "./contract/implement.js";
export type { MethodOf, ProxyCallOptions, ProxyTarget, ResponseStream } from "./contract/proxy.js";
export type { StandardSchemaV1 } from "./contract/standard-schema.js";
export { formatPath, validate } from "./contract/validate.js";
// Errors and contexts, below the application helpers.
export { abortError, type MicroErrorInit, statusText } from "./errors.js";
export type { CallPhase, InflightCall, InflightSnapshot } from "./inflight.js";
// Middleware: one object with hooks for calls, streams, publishes, handlers and subscribers.
export type { Middleware, PublishFn, StreamFn, SubscriberInfo } from "./middleware.js";
// Registries.
export {
  REGISTRY_KINDS,
  REGISTRY_PACKAGES,
  type RegistryFromAddress,
  type RegistryFromEnvOptions,
  registryFromEnv,
} from "./registry/default.js";
export { createLocalRegistry, DEFAULT_LOCAL_POLL_MS, type LocalRegistryOptions } from "./registry/local.js";
export { createReadThrough, type ReadThrough } from "./registry/read-through.js";
export type {
  Endpoint,
  Node,
  RegisterOptions,
  RegistryEvent,
  RegistryEventType,
  Service,
  Watcher,
  WatchOptions,
} from "./registry/registry.js";
export {
  nodeDeleteEvent,
  parseRegistryRow,
  type RegistryRow,
  registryEventOf,
  registryRowsOf,
  servicesOfRows,
} from "./registry/table.js";
// Every record read from a registry is validated (the registry is a trust root).
export {
  checkAddress as checkRegistryAddress,
  DEFAULT_RECORD_LIMITS,
  registryRefusals,
} from "./registry/validate.js";
export { createWatcherSet, type WatcherSet } from "./registry/watchers.js";
// Selectors.
export { NodeAttempt, type NodeMarks } from "./selector/node-attempt.js";
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
export type { HandlerFn } from "./server/invoke.js";
export type { HandleOptions } from "./server/router.js";
export {
  isUnknownEndpoint,
  type Mountable,
  type StreamHandlerFn,
  type StreamKind,
  setResponseHeader,
  setResponseTrailer,
} from "./server/stream-server.js";
export {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_REGISTER_INTERVAL_MS,
  DEFAULT_REGISTER_TTL_MS,
  type ResolvedServiceOptions,
  resolveServiceOptions,
  SERVICE_DEFAULTS,
  type ServiceState,
} from "./service/service.js";
// Stores (backends and the process default's choice).
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
  STORE_KINDS,
  STORE_PACKAGES,
  type StoreFromAddress,
  type StoreFromEnvOptions,
  storeFromEnv,
} from "./store/env.js";
export type { MemoryStoreOptions } from "./store/memory.js";
export {
  DEFAULT_STORE_DATABASE,
  DEFAULT_STORE_LIMITS,
  DEFAULT_STORE_TABLE,
  type ListOptions,
  type ReadOptions,
  type StoredRecord,
  type StoreLimits,
  type StoreOptions,
  type StoreQuery,
  type StoreScope,
  type WriteOptions,
  type WriteResult,
} from "./store/store.js";
// Addresses and listeners: parsing, listening, what a listener registers (advertise, wildcard binds).
export {
  type AdvertiseOptions,
  advertisedAddress,
  brokerDefaultsFor,
  ENV_BROKER_ADVERTISE,
  ENV_SERVER_ADDRESS,
  ENV_SERVER_ADVERTISE,
  type InterfaceList,
  interfaceHost,
  isWildcardHost,
  joinHostPort,
  listenAt,
  parseAddress,
} from "./transport/address.js";
// Transports.
export { isTransportFailure, markTransportFailure } from "./transport/failure.js";
export { DEFAULT_MAX_FRAME_BYTES } from "./transport/frame.js";
// HTTP listeners (health, metrics, the HTTP broker): a bad target or Host is a 400/421, never a throw.
export {
  defaultAllowedHosts,
  guardRequest,
  hostAllowed,
  LOOPBACK_HOSTS,
  requestPath,
} from "./transport/http-guard.js";
export { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "./transport/limits.js";
export { serverListener } from "./transport/listener.js";
export { STREAM_WINDOW_BYTES } from "./transport/mux-stream.js";
export { createTcpTransport, DEFAULT_TCP_OPTIONS, type TcpTransportOptions } from "./transport/tcp.js";
export {
  checkClientCertCa,
  checkTlsOptions,
  DEFAULT_TLS_MIN_VERSION,
  describeTlsClientError,
  hardenTlsServerSocket,
  type TcpTlsOptions,
} from "./transport/tls.js";
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
export type { DeadlineTimer, IntervalTimer } from "./util/deadline.js";
export {
  linkSignal,
  MAX_TIMER_MS,
  startInterval,
  startTimer,
  stopInterval,
  stopTimer,
} from "./util/deadline.js";
// Backends loaded from their package on first use (registryFromEnv and the like), and the process default.
export { type DriverRequest, importDriver, type LazyBackend, lazyBackend } from "./util/driver.js";
export { type Hop, renderHop } from "./util/hop.js";
export type { SignalLike } from "./util/light-abort.js";
export { type Expect, must, type Resolved, resolveOptions } from "./util/options.js";
export { type ProcessDefault, processDefault } from "./util/process-default.js";
export { describeStuck, startWatchdog, type WatchdogOptions } from "./watchdog.js";
