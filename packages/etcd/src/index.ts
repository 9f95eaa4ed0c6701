/** @tsmicro/etcd: the etcd registry for tsmicro. */
import type { Registry } from "tsmicro";
import type { RegistryFromAddress } from "tsmicro/plugin";
import { createEtcdRegistry } from "./registry.js";

export {
  createEtcdRegistry,
  DEFAULT_ETCD_ENDPOINT,
  DEFAULT_ETCD_PREFIX,
  DEFAULT_ETCD_RECONNECT_MS,
  DEFAULT_ETCD_TIMEOUT_MS,
  type EtcdRegistryOptions,
  etcdSecurityOptions,
} from "./registry.js";

/**
 * The registry for `MICRO_REGISTRY=etcd`: `address` is MICRO_REGISTRY_ADDRESS, a comma-
 * separated list of endpoints (default 127.0.0.1:2379). tsmicro's registryFromEnv calls this.
 */
export const registryFromAddress: RegistryFromAddress = (kind, options): Registry => {
  if (kind !== "etcd") throw new TypeError(`@tsmicro/etcd provides the registry "etcd", not "${kind}"`);
  const endpoints = options.address
    ?.split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  return createEtcdRegistry(endpoints && endpoints.length > 0 ? { endpoints } : {});
};

// Config (issue 18): settings under a prefix, watched.
export { type EtcdConfigSourceOptions, etcdConfigSource } from "./config.js";
