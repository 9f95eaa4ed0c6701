/** @tsmicro/etcd: the etcd registry for tsmicro. */
import type { Registry } from "tsmicro";
import { createEtcdRegistry } from "./registry.js";

export {
  createEtcdRegistry,
  DEFAULT_ETCD_ENDPOINT,
  DEFAULT_ETCD_PREFIX,
  DEFAULT_ETCD_RECONNECT_MS,
  DEFAULT_ETCD_TIMEOUT_MS,
  type EtcdRegistryOptions,
} from "./registry.js";

/**
 * The registry for `MICRO_REGISTRY=etcd`: `address` is MICRO_REGISTRY_ADDRESS, a comma-
 * separated list of endpoints (default 127.0.0.1:2379). The core calls this on first use.
 */
export function createRegistryFromAddress(address?: string): Registry {
  const endpoints = address
    ?.split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  return createEtcdRegistry(endpoints && endpoints.length > 0 ? { endpoints } : {});
}
