/**
 * Choosing a registry by name, as go-micro's MICRO_REGISTRY / MICRO_REGISTRY_ADDRESS: `local`
 * (the default) and `memory` are built in; `etcd` and `nats` live in their own packages,
 * imported on first use so that the core installs no driver. A missing package is an error
 * that says which one to install.
 */
import { MicroError } from "../errors.js";
import { importDriver } from "../util/driver.js";
import { createLocalRegistry } from "./local.js";
import { createMemoryRegistry } from "./memory.js";
import type { Registry, Watcher } from "./registry.js";
import { createWatcherSet } from "./watchers.js";

/** The package that provides each backend; it must export `registryFromAddress(kind, options)`. */
export const REGISTRY_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  etcd: "@tsmicro/etcd",
  nats: "@tsmicro/nats",
});

export const REGISTRY_KINDS = ["local", "memory", ...Object.keys(REGISTRY_PACKAGES)] as const;

/** What a backend package exports for `registryFromEnv`. */
export type RegistryFromAddress = (kind: string, options: { address?: string | undefined }) => Registry;

export interface RegistryFromEnvOptions {
  /** Which registry: local, memory, etcd or nats. @default $MICRO_REGISTRY, else "local" */
  kind?: string;
  /**
   * Where it is: the lease directory for local, comma-separated endpoints for etcd, servers
   * for NATS. @default $MICRO_REGISTRY_ADDRESS, else the backend's default
   */
  address?: string;
  /** Imports a backend package; replace it to test or to bundle. @default dynamic `import()` */
  load?: (specifier: string) => Promise<unknown>;
}

/** A registry chosen by name (option, else environment); backends load on first use. */
export function registryFromEnv(options: RegistryFromEnvOptions = {}): Registry {
  const fromEnv = options.kind === undefined;
  const kind = (options.kind ?? process.env.MICRO_REGISTRY ?? "local").trim().toLowerCase() || "local";
  const address = options.address ?? (process.env.MICRO_REGISTRY_ADDRESS || undefined);
  const chosenBy = fromEnv ? `MICRO_REGISTRY=${kind}` : `registry "${kind}"`;
  if (kind === "local") return createLocalRegistry(address === undefined ? {} : { dir: address });
  if (kind === "memory") return createMemoryRegistry();
  const specifier = REGISTRY_PACKAGES[kind];
  if (specifier === undefined) {
    return failingRegistry(
      chosenBy,
      new MicroError({
        id: "tsmicro",
        code: 400,
        detail: `unknown ${chosenBy}; choose one of: ${REGISTRY_KINDS.join(", ")}`,
        retryable: false,
      }),
    );
  }
  return lazyRegistry(kind, address, () =>
    importDriver<RegistryFromAddress>({
      chosenBy,
      specifier,
      exportName: "registryFromAddress",
      ...(options.load === undefined ? {} : { load: options.load }),
    }),
  );
}

let shared: Registry | undefined;

/** One registry per process for everything that did not ask for its own (go-micro's DefaultRegistry). */
export function defaultRegistry(): Registry {
  shared ??= registryFromEnv();
  return shared;
}

/** Stands in for a backend registry until its package is loaded, then forwards everything. */
function lazyRegistry(
  kind: string,
  address: string | undefined,
  importFactory: () => Promise<RegistryFromAddress>,
): Registry {
  let inner: Promise<Registry> | undefined;
  let loaded: Registry | undefined;
  const resolve = (): Promise<Registry> => {
    inner ??= importFactory().then(
      (make) => {
        loaded = make(kind, { address });
        return loaded;
      },
      (err: unknown) => {
        inner = undefined; // installed later? the next use tries again
        throw err;
      },
    );
    return inner;
  };
  return {
    get name() {
      return loaded?.name ?? `${kind} (${address ?? "default address"}, not loaded yet)`;
    },
    register: async (service, opts) => (await resolve()).register(service, opts),
    deregister: async (service) => (await resolve()).deregister(service),
    getService: async (name) => (await resolve()).getService(name),
    listServices: async () => (await resolve()).listServices(),
    watch(options = {}) {
      let innerWatcher: Watcher | undefined;
      const set = createWatcherSet(() => innerWatcher?.stop());
      const watcher = set.add(options);
      void resolve()
        .then(async (registry) => {
          if (set.size === 0) return;
          innerWatcher = registry.watch(options.service === undefined ? {} : { service: options.service });
          for await (const e of innerWatcher) set.emit([e]);
        })
        .catch(() => {})
        // Could not load, or the backend's watch ended: end ours too; the caller may watch again.
        .finally(() => set.stopAll());
      return watcher;
    },
    async close() {
      const r = inner;
      inner = undefined;
      loaded = undefined;
      if (r !== undefined)
        await r.then(
          (x) => x.close(),
          () => {},
        );
    },
  };
}

/** Fails on use, not at import: `defaultClient` exists even when the environment names no valid registry. */
function failingRegistry(chosenBy: string, error: MicroError): Registry {
  const fail = () => Promise.reject(error);
  return {
    name: `unavailable (${chosenBy})`,
    register: fail,
    deregister: fail,
    getService: fail,
    listServices: fail,
    // An already ended watch: the caller's reads then fail with the error.
    watch: () => createWatcherSet().add({ signal: AbortSignal.abort(error) }),
    close: () => Promise.resolve(),
  };
}
