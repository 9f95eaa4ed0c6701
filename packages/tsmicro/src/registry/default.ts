/** The registry a service or client gets when none is given: MICRO_REGISTRY, else local. */
import { MicroError } from "../errors.js";
import { createLocalRegistry } from "./local.js";
import { createMemoryRegistry } from "./memory.js";
import type { Registry } from "./registry.js";

let shared: Registry | undefined;

/**
 * One registry per process for everything that did not ask for its own, chosen by the
 * MICRO_REGISTRY environment variable (`local` or `memory` in the core). Backends such as
 * etcd and NATS are chosen by passing their registry, since the core imports no driver.
 */
export function defaultRegistry(): Registry {
  shared ??= registryFromEnv();
  return shared;
}

function registryFromEnv(): Registry {
  const kind = (process.env.MICRO_REGISTRY ?? "local").toLowerCase();
  switch (kind) {
    case "":
    case "local":
      return createLocalRegistry(
        process.env.MICRO_REGISTRY_ADDRESS ? { dir: process.env.MICRO_REGISTRY_ADDRESS } : {},
      );
    case "memory":
      return createMemoryRegistry();
    default:
      return unavailableRegistry(kind);
  }
}

/** Fails on use, not at import: `defaultClient` exists even when the environment names a backend. */
function unavailableRegistry(kind: string): Registry {
  const error = () =>
    new MicroError({
      id: "tsmicro",
      code: 500,
      detail: `MICRO_REGISTRY=${kind} is not built into the core: install its package (npm install @tsmicro/${kind}) and use its registry (or registryFromEnv from it)`,
      retryable: false,
    });
  const fail = () => Promise.reject(error());
  return {
    name: `unavailable (MICRO_REGISTRY=${kind})`,
    register: fail,
    deregister: fail,
    getService: fail,
    listServices: fail,
    watch: () => {
      throw error();
    },
    close: () => Promise.resolve(),
  };
}
