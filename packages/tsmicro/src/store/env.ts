/**
 * Choosing a store by name, as MICRO_REGISTRY and MICRO_BROKER do: MICRO_STORE (`memory`, the
 * default, is built in; `file`, `redis`, `postgres` and `nats` live in their own packages,
 * imported on first use so that the core installs no driver), MICRO_STORE_ADDRESS (where),
 * MICRO_STORE_DATABASE and MICRO_STORE_TABLE (the default scope).
 */
import { MicroError } from "../errors.js";
import { lazyBackend } from "../util/driver.js";
import { storeDefaults } from "./backend.js";
import { createMemoryStore } from "./memory.js";
import { DEFAULT_STORE_LIMITS, type Store, type StoreOptions } from "./store.js";

/** The package that provides each backend; it must export `storeFromAddress(kind, options)`. */
export const STORE_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  file: "@tsmicro/sqlite",
  sqlite: "@tsmicro/sqlite",
  redis: "@tsmicro/redis",
  postgres: "@tsmicro/postgres",
  nats: "@tsmicro/nats",
});

export const STORE_KINDS = ["memory", ...Object.keys(STORE_PACKAGES)] as const;

/** What a backend package exports for `storeFromEnv`. */
export type StoreFromAddress = (
  kind: string,
  options: StoreOptions & { address?: string | undefined },
) => Store;

export interface StoreFromEnvOptions extends StoreOptions {
  /** Which store. @default $MICRO_STORE, else "memory" */
  kind?: string;
  /** A file path (file), URL (redis, postgres) or servers (nats). @default $MICRO_STORE_ADDRESS, else the backend's default */
  address?: string;
  /** Imports a backend package; replace it to test or to bundle. @default dynamic `import()` */
  load?: (specifier: string) => Promise<unknown>;
}

export function storeFromEnv(options: StoreFromEnvOptions = {}): Store {
  const fromEnv = options.kind === undefined;
  const kind = (options.kind ?? process.env.MICRO_STORE ?? "memory").trim().toLowerCase() || "memory";
  const address = options.address ?? (process.env.MICRO_STORE_ADDRESS || undefined);
  const chosenBy = fromEnv ? `MICRO_STORE=${kind}` : `store "${kind}"`;
  const common: StoreOptions = {
    ...storeDefaults(options),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  };
  if (kind === "memory") return createMemoryStore(common);
  const specifier = STORE_PACKAGES[kind];
  if (specifier === undefined) {
    return failingStore(
      chosenBy,
      new MicroError({
        id: "tsmicro.store",
        code: 400,
        detail: `unknown ${chosenBy}; choose one of: ${STORE_KINDS.join(", ")}`,
        retryable: false,
      }),
    );
  }
  const backend = lazyBackend<StoreFromAddress, Store>(
    {
      chosenBy,
      specifier,
      exportName: "storeFromAddress",
      ...(options.load === undefined ? {} : { load: options.load }),
    },
    (make) => make(kind, { ...common, address }),
  );
  const resolve = () => backend.get();
  return {
    get name() {
      return backend.current?.name ?? `${kind} (${address ?? "default address"}, not loaded yet)`;
    },
    get limits() {
      return backend.current?.limits ?? { ...DEFAULT_STORE_LIMITS, ...options.limits };
    },
    read: async (key, o) => (await resolve()).read(key, o),
    write: async (record, o) => (await resolve()).write(record, o),
    delete: async (key, o) => (await resolve()).delete(key, o),
    list: async (o) => (await resolve()).list(o),
    close: () => backend.reset((s) => s.close()),
  };
}

let shared: Store | undefined;

/** One store per process for everything that did not ask for its own (go-micro's store.DefaultStore). */
export function defaultStore(): Store {
  shared ??= storeFromEnv();
  return shared;
}

function failingStore(chosenBy: string, error: MicroError): Store {
  const fail = () => Promise.reject(error);
  return {
    name: `unavailable (${chosenBy})`,
    limits: DEFAULT_STORE_LIMITS,
    read: fail,
    write: fail,
    delete: fail,
    list: fail,
    close: () => Promise.resolve(),
  };
}
