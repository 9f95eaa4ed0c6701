/**
 * Choosing a broker by name, as go-micro's MICRO_BROKER / MICRO_BROKER_ADDRESS: `http` (the
 * default) and `memory` are built in; `nats`, `jetstream`, `redis` and `rabbitmq` live in their
 * own packages, imported on first use, so the core installs no driver. A missing package is
 * an error that says which one to install.
 */
import { MicroError } from "../errors.js";
import type { Registry } from "../registry/registry.js";
import { ENV_BROKER_ADVERTISE } from "../transport/address.js";
import { lazyBackend } from "../util/driver.js";
import { processDefault } from "../util/process-default.js";
import type { Broker, BrokerOptions } from "./broker.js";
import { createHttpBroker } from "./http.js";
import { createMemoryBroker } from "./memory.js";

/** The package that provides each backend, and must export `brokerFromAddress(kind, options)`. */
export const BROKER_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  nats: "@tsmicro/nats",
  jetstream: "@tsmicro/nats",
  redis: "@tsmicro/redis",
  "redis-pubsub": "@tsmicro/redis",
  rabbitmq: "@tsmicro/rabbitmq",
});

export const BROKER_KINDS = ["http", "memory", ...Object.keys(BROKER_PACKAGES)] as const;

/** What a backend package exports for `brokerFromEnv`. */
export type BrokerFromAddress = (
  kind: string,
  options: BrokerOptions & { address?: string | undefined },
) => Broker;

export interface BrokerFromEnvOptions extends BrokerOptions {
  /** Which broker. @default $MICRO_BROKER, else "http" */
  kind?: string;
  /** Where its server is (URL or host:port, as the backend takes it). @default $MICRO_BROKER_ADDRESS, else the backend's default */
  address?: string;
  /** The registry the http broker uses. @default the process default registry */
  registry?: Registry;
  /** Imports a backend package; replace it to test or to bundle. @default dynamic `import()` */
  load?: (specifier: string) => Promise<unknown>;
  /**
   * Listen and advertise defaults for the http broker, weaker than MICRO_BROKER_ADDRESS and
   * MICRO_BROKER_ADVERTISE (a service passes its own bind host and advertised host).
   * @default none: "127.0.0.1:0", the bound address
   */
  httpDefaults?: { address?: string | undefined; advertise?: string | undefined };
}

export function brokerFromEnv(options: BrokerFromEnvOptions = {}): Broker {
  // Trimmed as MICRO_REGISTRY and MICRO_STORE are: `MICRO_BROKER=nats ` in an env file is nats.
  const kind = (options.kind ?? process.env.MICRO_BROKER ?? "http").trim().toLowerCase() || "http";
  const address = options.address ?? (process.env.MICRO_BROKER_ADDRESS || undefined);
  const common: BrokerOptions = options.onError === undefined ? {} : { onError: options.onError };
  if (kind === "http") {
    const listen = address ?? options.httpDefaults?.address;
    const advertise = process.env[ENV_BROKER_ADVERTISE] || options.httpDefaults?.advertise;
    return createHttpBroker({
      ...common,
      ...(advertise === undefined ? {} : { advertise }),
      ...(options.registry === undefined ? {} : { registry: options.registry }),
      ...(listen === undefined ? {} : { address: listen }),
    });
  }
  if (kind === "memory") return createMemoryBroker(common);
  const specifier = BROKER_PACKAGES[kind];
  if (specifier === undefined) {
    return failingBroker(
      kind,
      () =>
        new MicroError({
          id: "tsmicro",
          code: 400,
          detail: `unknown broker "${kind}" (MICRO_BROKER); choose one of: ${BROKER_KINDS.join(", ")}`,
          retryable: false,
        }),
    );
  }
  return lazyBroker(kind, specifier, options.load, { ...common, address });
}

const processBroker = processDefault(brokerFromEnv, (b) => b.disconnect());

/**
 * One broker per process for everything that did not ask for its own (go-micro's
 * broker.DefaultBroker). Clients that publish through it hold it until they close; when the
 * last one closes it is disconnected, so its connection does not keep a finished process
 * alive. It connects again on its next use.
 */
export function defaultBroker(): Broker {
  return processBroker.get();
}

/** Holds the default broker until the returned release is called (once). */
export function holdDefaultBroker(): () => Promise<void> {
  return processBroker.hold();
}

/** Stands in for a backend broker until its package is loaded (util/driver.ts), then forwards everything. */
function lazyBroker(
  kind: string,
  specifier: string,
  load: ((specifier: string) => Promise<unknown>) | undefined,
  options: BrokerOptions & { address: string | undefined },
): Broker {
  const backend = lazyBackend<BrokerFromAddress, Broker>(
    {
      chosenBy: `MICRO_BROKER=${kind}`,
      specifier,
      exportName: "brokerFromAddress",
      ...(load === undefined ? {} : { load }),
    },
    (make) => make(kind, options),
  );
  return {
    get name() {
      return backend.current?.name ?? `${kind} (${specifier}, not loaded yet)`;
    },
    async connect() {
      await (await backend.get()).connect();
    },
    // Nothing loaded means nothing to close; a later use loads and connects afresh.
    disconnect: () => backend.reset((b) => b.disconnect()),
    async publish(topic, message, opts) {
      return (await backend.get()).publish(topic, message, opts);
    },
    async subscribe(topic, handler, opts) {
      return (await backend.get()).subscribe(topic, handler, opts);
    },
  };
}

/** Fails on use, not at import; the error is built then, so its stack points at the use. */
function failingBroker(kind: string, error: () => MicroError): Broker {
  const fail = () => Promise.reject(error());
  return {
    name: `unavailable (MICRO_BROKER=${kind})`,
    connect: fail,
    disconnect: () => Promise.resolve(),
    publish: fail,
    subscribe: fail,
  };
}
