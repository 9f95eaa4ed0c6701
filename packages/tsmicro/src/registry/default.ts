/**
 * Choosing a registry by name, as go-micro's MICRO_REGISTRY / MICRO_REGISTRY_ADDRESS: `local`
 * (the default) and `memory` are built in; any other kind is the package `@tsmicro/<kind>`
 * (`etcd`, `nats`), imported on first use so that the core installs no driver. A missing
 * package is an error, on first use, that says which one to install.
 */
import { MicroError } from "../errors.js";
import { type LazyBackend, lazyBackend } from "../util/driver.js";
import { processDefault } from "../util/process-default.js";
import { createLocalRegistry } from "./local.js";
import { createMemoryRegistry } from "./memory.js";
import type { Registry, Watcher } from "./registry.js";
import { createWatcherSet } from "./watchers.js";

/**
 * The backends tsmicro ships; each package exports `registryFromAddress(kind, options)`. Any
 * other kind `k` is looked up the same way in `@tsmicro/k`.
 */
export const REGISTRY_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  etcd: "@tsmicro/etcd",
  nats: "@tsmicro/nats",
});

export const REGISTRY_KINDS = ["local", "memory", ...Object.keys(REGISTRY_PACKAGES)] as const;

/** A kind that can name a package: lower-case letters, digits and dashes. */
const KIND = /^[a-z0-9][a-z0-9-]{0,63}$/;

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
  if (!KIND.test(kind)) {
    // Built on use, so the error's stack points at the use, not at module loading.
    return failingRegistry(
      chosenBy,
      () =>
        new MicroError({
          id: "tsmicro",
          code: 400,
          detail: `${chosenBy} is not a registry name (letters, digits and dashes, loaded from @tsmicro/<name>); built in: ${REGISTRY_KINDS.join(", ")}`,
          retryable: false,
        }),
    );
  }
  const specifier = REGISTRY_PACKAGES[kind] ?? `@tsmicro/${kind}`;
  const backend = lazyBackend<RegistryFromAddress, Registry>(
    {
      chosenBy,
      specifier,
      exportName: "registryFromAddress",
      ...(options.load === undefined ? {} : { load: options.load }),
    },
    (make) => make(kind, { address }),
  );
  return lazyRegistry(kind, address, backend);
}

const processRegistry = processDefault(registryFromEnv, (r) => r.close());

/**
 * One registry per process for everything that did not ask for its own (go-micro's
 * DefaultRegistry). Clients and services that use it hold it while they run; when the last
 * one closes or stops, it is closed, so its connection does not keep a finished process
 * alive. It opens again on its next use.
 */
export function defaultRegistry(): Registry {
  return processRegistry.get();
}

/** Holds the default registry until the returned release is called (once). */
export function holdDefaultRegistry(): () => Promise<void> {
  return processRegistry.hold();
}

/** Stands in for a backend registry until its package is loaded, then forwards everything. */
function lazyRegistry(kind: string, address: string | undefined, backend: LazyBackend<Registry>): Registry {
  const resolve = () => backend.get();
  return {
    get name() {
      return backend.current?.name ?? `${kind} (${address ?? "default address"}, not loaded yet)`;
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
    close: () => backend.reset((r) => r.close()),
  };
}

/** Fails on use, not at import: `defaultClient` exists even when the environment names no valid registry. */
function failingRegistry(chosenBy: string, error: () => MicroError): Registry {
  const fail = () => Promise.reject(error());
  return {
    name: `unavailable (${chosenBy})`,
    register: fail,
    deregister: fail,
    getService: fail,
    listServices: fail,
    // An already ended watch: the caller's reads then fail with the error.
    watch: () => createWatcherSet().add({ signal: AbortSignal.abort(error()) }),
    close: () => Promise.resolve(),
  };
}
