/**
 * For registries on a server (etcd, NATS): remember the last answer to each read and serve
 * it while the server cannot be reached, so that clients keep finding the nodes they knew.
 */
import type { Service } from "./registry.js";

export type ReadThrough = (
  key: string,
  fetch: () => Promise<Service[]>,
  failed: (cause: unknown) => Error,
) => Promise<Service[]>;

/** `read(key, fetch, failed)`: fetch's answer (remembered), else the last one, else `failed(cause)`. */
export function createReadThrough(): ReadThrough {
  const last = new Map<string, Service[]>();
  return async (key, fetch, failed) => {
    try {
      const services = await fetch();
      last.set(key, services);
      return services;
    } catch (err) {
      const cached = last.get(key);
      if (cached !== undefined) return cached;
      throw failed(err);
    }
  };
}
