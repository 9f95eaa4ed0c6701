/**
 * @tsmicro/nats: NATS for tsmicro. One connection (see `connection.ts`) can serve the
 * registry, the broker and the transport together.
 */

// Brokers (issue 5): core NATS (fire-and-forget, queue groups) and JetStream (at-least-once).
export { createNatsBroker, type NatsBrokerOptions } from "./broker.js";
export { brokerFromAddress } from "./broker-env.js";
export {
  createJetStreamBroker,
  DEFAULT_JETSTREAM_BROKER_OPTIONS,
  defaultStreamName,
  type JetStreamBrokerOptions,
} from "./broker-jetstream.js";
// Config (issue 18): settings in a KV bucket, watched.
export { type NatsConfigSourceOptions, natsConfigSource } from "./config.js";
export {
  createNatsConnection,
  DEFAULT_NATS_SERVERS,
  type NatsAuth,
  type NatsConnectionHandle,
  type NatsConnectionOptions,
  type NatsTlsOptions,
  natsConnectionHandle,
  natsSecurityOptions,
} from "./connection.js";
// Registry (issue 4): nodes in a JetStream KV bucket, watch-driven.
export {
  createNatsRegistry,
  DEFAULT_NATS_REGISTRY_BUCKET,
  DEFAULT_NATS_REGISTRY_RECONNECT_MS,
  DEFAULT_NATS_REGISTRY_TIMEOUT_MS,
  type NatsRegistryOptions,
} from "./registry.js";
export { registryFromAddress } from "./registry-env.js";
// Store (issue 18): records in JetStream KV buckets, compare-and-set on the KV revision.
export { createNatsStore, NATS_STORE_MAX_VALUE_BYTES, type NatsStoreOptions } from "./store.js";
export { storeFromAddress } from "./store-env.js";
