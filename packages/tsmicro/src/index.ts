/**
 * tsmicro: go-micro's microservices toolkit for TypeScript, deadlock-free by construction.
 *
 * This entry is for applications: services, clients, contexts, errors, contracts and the
 * process defaults. Backend authors (brokers, registries, transports, codecs, selectors) find
 * their helpers in `tsmicro/plugin`; test helpers are in `tsmicro/testing`. Names follow
 * go-micro (client.DefaultClient → defaultClient). Each name is documented where it is declared.
 */

export type { Broker } from "./broker/broker.js";
// Discovery and messaging: the process defaults and the in-memory ones for tests.
export { defaultBroker } from "./broker/env.js";
export { createMemoryBroker } from "./broker/memory.js";
// Cache: responses of cacheable calls (go-micro's client.WithCache).
export { withCache } from "./cache/cache.js";
export { cacheWrapper } from "./cache/wrapper.js";
export { type Client, defaultClient, newClient } from "./client/client.js";
export type { Stream, StreamOptions } from "./client/client-stream.js";
export type { CallOptions, CallWrapper, ClientOptions } from "./client/options.js";
export { type Message, newMessage, type PublishCallOptions } from "./client/publish.js";
export { newRequest, type Request } from "./client/request.js";
// Config: sources merged in order, validated and typed by a Standard Schema, watched.
export { loadConfig } from "./config/config.js";

// Context: cancellation, deadline, metadata, chain.
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
// Typed contracts.
export {
  bidiStream,
  type Contract,
  clientStream,
  defineContract,
  serverStream,
  unary,
} from "./contract/contract.js";
export { type Implementation, implement } from "./contract/implement.js";
export type { ServiceProxy } from "./contract/proxy.js";
// Errors: one class on the wire, its codes, and a helper per code.
export {
  badGateway,
  badRequest,
  Code,
  cancelled,
  conflict,
  forbidden,
  gatewayTimeout,
  internalServerError,
  isMicroError,
  loopDetected,
  MicroError,
  methodNotAllowed,
  notFound,
  notImplemented,
  payloadTooLarge,
  serviceUnavailable,
  timeout,
  tooManyRequests,
  unauthorized,
  unsupportedMediaType,
} from "./errors.js";
export { defaultRegistry } from "./registry/default.js";
export { createMemoryRegistry } from "./registry/memory.js";
export type { Registry } from "./registry/registry.js";
export type { HandlerRequest, HandlerWrapper } from "./server/invoke.js";
// Services and clients.
export {
  type MicroService,
  newService,
  type ServiceOptions,
} from "./service/service.js";
export type { ServiceSubscribeOptions, SubscriberFn } from "./service/subscribe.js";
// Data: the store (go-micro's store.Store), the process default and the in-memory one.
export { defaultStore } from "./store/env.js";
export { createMemoryStore } from "./store/memory.js";
export type { Store, StoreRecord } from "./store/store.js";
