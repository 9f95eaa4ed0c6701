/**
 * The one place the go-micro NATS registry's options are resolved: defaults filled (the values
 * its docs' `@default`s name, checked by a test), values checked (a bad one is a 400 naming
 * the option and what it must be), the result frozen. The connection options are checked
 * where @tsmicro/nats opens the connection.
 */
import { must, resolveOptions } from "tsmicro/plugin";

export const DEFAULT_GO_MICRO_NATS_REGISTRY_OPTIONS = {
  queryTopic: "micro.registry.nats.query",
  watchTopic: "micro.registry.nats.watch",
  queryTimeoutMs: 100,
  quorum: 0,
  pollMs: 5000,
};

export function resolveGoMicroNatsRegistryOptions<T extends object>(options: T | undefined) {
  return resolveOptions("go-micro nats registry", options, DEFAULT_GO_MICRO_NATS_REGISTRY_OPTIONS, {
    queryTopic: must.text,
    watchTopic: must.text,
    queryTimeoutMs: must.positive,
    quorum: must.nonNegativeInteger,
    pollMs: must.positive,
    servers: must.texts,
    connection: must.object,
  });
}
