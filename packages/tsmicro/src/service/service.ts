/**
 * A service: a server on a transport, registered in a registry with a TTL and refreshed on
 * an interval, with a client for calling others (go-micro's micro.Service).
 */
import { randomUUID } from "node:crypto";
import type { Broker } from "../broker/broker.js";
import { brokerFromEnv } from "../broker/env.js";
import type { Client } from "../client/client.js";
import { newClient } from "../client/client.js";
import { type CodecRegistry, defaultCodecs } from "../codec/index.js";
import type { InflightSnapshot } from "../inflight.js";
import type { Middleware } from "../middleware.js";
import { defaultRegistry, holdDefaultRegistry } from "../registry/default.js";
import type { Registry, Service as RegistryService } from "../registry/registry.js";
import { type Bulkhead, type BulkheadOptions, createBulkhead } from "../server/bulkhead.js";
import type { HandlerWrapper } from "../server/invoke.js";
import type { HandleOptions } from "../server/router.js";
import { Server } from "../server/server.js";
import { isMountable, MOUNT, StreamServer } from "../server/stream-server.js";
import {
  advertisedAddress,
  brokerDefaultsFor,
  ENV_SERVER_ADDRESS,
  ENV_SERVER_ADVERTISE,
} from "../transport/address.js";
import { createTcpTransport } from "../transport/tcp.js";
import type { Listener, Transport } from "../transport/transport.js";
import { type IntervalTimer, startInterval, startTimer, stopInterval, stopTimer } from "../util/deadline.js";
import { startWatchdog, type WatchdogOptions } from "../watchdog.js";
import { type LifecycleHook, waitForDependencies } from "./lifecycle.js";
import { listenError } from "./start-error.js";
import { type ServiceSubscribeOptions, type SubscriberFn, Subscriptions } from "./subscribe.js";

/** Options of `newService`; every one but `name` has a default. */
export interface ServiceOptions {
  name: string;
  /** @default "latest" */
  version?: string;
  /** `host:port` to listen on; port 0 picks a free one. @default $MICRO_SERVER_ADDRESS, else "127.0.0.1:0" */
  address?: string;
  /**
   * `host:port` (or a bare host, which takes the bound port) to register instead of the bound
   * address: behind NAT, in a container, or to register a DNS name. When unset, a wildcard bind
   * (`0.0.0.0`, `::`) registers this host's first non-loopback, non-link-local address (see
   * transport/address.ts), never the wildcard.
   * @default $MICRO_SERVER_ADVERTISE, else the bound address
   */
  advertise?: string;
  /** @default the process default (MICRO_REGISTRY, else the local registry) */
  registry?: Registry;
  /** For calls made from handlers through `service.client`. @default a new client on `registry` */
  client?: Client;
  /** @default TCP */
  transport?: Transport;
  /** @default JSON and MessagePack */
  codecs?: CodecRegistry;
  /** Service and node metadata in the registry. @default {} */
  metadata?: Record<string, string>;
  /** Handler wrappers; the first is the outermost. @default [] */
  wrappers?: readonly HandlerWrapper[];
  /**
   * Middleware for every path (middleware.ts): `handler` and `subscriber` hooks run around this
   * service's handlers and subscribers (outside `wrappers`), and `call`, `stream` and `publish`
   * hooks around its own client's (when it makes one). @default []
   */
  middleware?: readonly Middleware[];
  /** Registration lifetime in the registry. @default 30000 */
  registerTtlMs?: number;
  /** How often the registration is refreshed; keep it well under the TTL. @default 10000 */
  registerIntervalMs?: number;
  /** On stop, how long in-flight requests may take to finish. @default 10000 */
  drainTimeoutMs?: number;
  /** Concurrency limits (bulkhead), or your own admission control. @default none */
  limits?: BulkheadOptions | Bulkhead;
  /** Keep the in-flight table for `inflight()` and the stall doctor. @default true */
  trackInflight?: boolean;
  /** Report requests stuck in one phase (e.g. queued for a slot) longer than a threshold. @default off */
  watchdog?: WatchdogOptions;
  /**
   * Lifecycle messages. @default silent, except that `run()` prints one line on stderr once the
   * service is up (where it listens, its registry, how to stop it); pass `log` to route or
   * (`() => {}`) silence it.
   */
  log?: (message: string) => void;
  /**
   * For `subscribe` and the service's own client's `publish`; connected on start when the
   * service has subscribers, disconnected on stop unless it was given here.
   * @default a broker chosen by MICRO_BROKER (http, on `registry`, when unset)
   */
  broker?: Broker;
  /** Runs before anything starts (go-micro BeforeStart); a failure aborts `start()` with nothing left running. @default none */
  beforeStart?: LifecycleHook;
  /** Runs once the service is registered (go-micro AfterStart, Moleculer `started`); a failure stops it again and fails `start()`. @default none */
  afterStart?: LifecycleHook;
  /** Runs before deregistering on stop (go-micro BeforeStop); a failure is logged, stop goes on. @default none */
  beforeStop?: LifecycleHook;
  /** Runs once everything is closed (go-micro AfterStop, Moleculer `stopped`); a failure is logged. @default none */
  afterStop?: LifecycleHook;
  /**
   * Services that must be registered before this one registers (Moleculer's `dependencies`):
   * `"billing"`, or with a version range, `"stock@^2"`. @default []
   */
  dependencies?: readonly string[];
  /** How long `start()` waits for `dependencies`, then fails naming the missing ones. @default 30000 */
  dependencyTimeoutMs?: number;
  /**
   * Health gate before each re-registration (go-micro's RegisterCheck): when it throws, the
   * node is deregistered until a later check passes. @default none
   */
  registerCheck?: () => void | Promise<void>;
}

/**
 * The defaults of the service's plain options: what `@default` says in ServiceOptions' docs (a
 * test checks that the two agree). Registry, broker, client and transport default to objects
 * the service makes (and owns) when they are not given.
 */
export const SERVICE_DEFAULTS = Object.freeze({
  version: "latest",
  metadata: Object.freeze({}) as Readonly<Record<string, string>>,
  wrappers: Object.freeze([]) as readonly HandlerWrapper[],
  middleware: Object.freeze([]) as readonly Middleware[],
  registerTtlMs: 30_000,
  registerIntervalMs: 10_000,
  drainTimeoutMs: 10_000,
  trackInflight: true,
  dependencies: Object.freeze([]) as readonly string[],
  dependencyTimeoutMs: 30_000,
});

export const DEFAULT_REGISTER_TTL_MS = SERVICE_DEFAULTS.registerTtlMs;
export const DEFAULT_REGISTER_INTERVAL_MS = SERVICE_DEFAULTS.registerIntervalMs;
export const DEFAULT_DRAIN_TIMEOUT_MS = SERVICE_DEFAULTS.drainTimeoutMs;

/** Service options with every plain default filled in (objects the service owns stay as given). */
export type ResolvedServiceOptions = Readonly<
  ServiceOptions & Required<Pick<ServiceOptions, keyof typeof SERVICE_DEFAULTS | "codecs">>
>;

/**
 * The one place a service's options are resolved: defaults filled (codecs once, shared by the
 * server, the stream server, the subscribers and the service's client), values checked (a
 * TypeError names a bad option), the result frozen.
 */
export function resolveServiceOptions(options: ServiceOptions): ResolvedServiceOptions {
  if (!options.name) throw new TypeError("newService: a name is required");
  const given: Partial<ServiceOptions> = {};
  for (const [k, v] of Object.entries(options))
    if (v !== undefined) (given as Record<string, unknown>)[k] = v;
  const o = Object.freeze({
    ...SERVICE_DEFAULTS,
    codecs: options.codecs ?? defaultCodecs(),
    ...given,
  }) as ResolvedServiceOptions;
  for (const k of ["registerTtlMs", "registerIntervalMs", "drainTimeoutMs", "dependencyTimeoutMs"] as const) {
    const v = o[k];
    if (!(typeof v === "number" && v >= 0))
      throw new TypeError(`newService: option ${k} must be a number ≥ 0, got ${String(v)}`);
  }
  return o;
}

/**
 * Where a service is in its life: "new" until `start()`; "starting"; "running"; "stopping";
 * "stopped" after `stop()` or after a failed `start()` (which undoes itself: a stopped
 * service is not started again; make a new one).
 */
export type ServiceState = "new" | "starting" | "running" | "stopping" | "stopped";

/** A service: its server, client, registration and lifecycle (go-micro's micro.Service). */
export interface MicroService {
  readonly name: string;
  readonly version: string;
  /** Unique id of this instance in the registry. */
  readonly nodeId: string;
  /** Bound `host:port`; throws before `start()`. */
  readonly address: string;
  /** The `host:port` registered for this node (`advertise`, or derived from the bound address); throws before `start()`. */
  readonly advertised: string;
  readonly registry: Registry;
  readonly client: Client;
  readonly broker: Broker;
  /** Where the service is in its life (see ServiceState). */
  readonly state: ServiceState;
  /** Serves every method of `handler` as `Class.method`. */
  handle(handler: object, options?: HandleOptions): this;
  /**
   * Calls `handler` with each message published to `topic`, decoded by its content type;
   * `{ queue }` shares the messages among the service's instances. Call before `start()`.
   */
  subscribe<T = any>(topic: string, handler: SubscriberFn<T>, options?: ServiceSubscribeOptions): this;
  start(): Promise<void>;
  /** Deregisters, stops accepting, drains in-flight requests (bounded), closes. */
  stop(): Promise<void>;
  /**
   * start(), then wait for SIGINT/SIGTERM, then stop(); resolves after the clean shutdown (or
   * rejects with start()'s error), so a host program decides what happens next (go-micro's Run).
   */
  run(options?: { exitProcess?: boolean }): Promise<void>;
  /** run() for scripts: exits the process, 0 after a clean shutdown, 1 (with one line on stderr) when start fails. */
  runMain(): Promise<never>;
  /** Requests being handled here, with phase and chain (the stall doctor's view). */
  inflight(): InflightSnapshot[];
  /** The registry record of this node. */
  record(): RegistryService;
}

class ServiceImpl implements MicroService {
  readonly name: string;
  readonly version: string;
  readonly nodeId: string;
  readonly registry: Registry;
  readonly client: Client;
  readonly broker: Broker;
  readonly #subs: Subscriptions;
  readonly #opts: ResolvedServiceOptions;
  readonly #server: Server;
  readonly #streams: StreamServer;
  readonly #transport: Transport;
  readonly #startedAt = Date.now();
  #listener: Listener | undefined;
  #advertised: string | undefined;
  #stopWatchdog: (() => void) | undefined;
  #timer: IntervalTimer;
  /** Whether the last registration (or refresh) succeeded; for health checks. */
  #registered = false;
  #state: ServiceState = "new";
  #stopping: Promise<void> | undefined;
  /** The start in progress: a stop() called meanwhile waits for it, then undoes it. */
  #starting: Promise<void> | undefined;
  /** Lets go of the process default registry, when the service uses it (held from start to stop). */
  #release: (() => Promise<void>) | undefined;

  constructor(options: ServiceOptions) {
    this.#opts = resolveServiceOptions(options);
    const o = this.#opts;
    this.name = options.name;
    this.version = o.version;
    this.nodeId = `${options.name}-${randomUUID()}`;
    this.registry = options.registry ?? defaultRegistry();
    // The default http broker's subscribers are as reachable as the service (transport/address.ts).
    this.broker =
      options.broker ??
      brokerFromEnv({
        registry: this.registry,
        httpDefaults: brokerDefaultsFor(
          options.address ?? (process.env[ENV_SERVER_ADDRESS] || undefined),
          options.advertise ?? (process.env[ENV_SERVER_ADVERTISE] || undefined),
        ),
      });
    this.#subs = new Subscriptions(this.name, o.codecs, o.middleware);
    this.client =
      options.client ??
      newClient({
        registry: this.registry,
        broker: this.broker,
        codecs: o.codecs,
        middleware: o.middleware,
      });
    this.#transport = options.transport ?? createTcpTransport();
    this.#server = new Server({
      name: this.name,
      nodeId: this.nodeId,
      codecs: o.codecs,
      wrappers: [...o.middleware.flatMap((m) => (m.handler === undefined ? [] : [m.handler])), ...o.wrappers],
      bulkhead:
        options.limits === undefined
          ? undefined
          : "acquire" in options.limits
            ? options.limits
            : createBulkhead(this.name, options.limits),
      trackInflight: o.trackInflight,
    });
    this.#streams = new StreamServer({
      name: this.name,
      nodeId: this.nodeId,
      codecs: o.codecs,
      unary: this.#server.dispatch,
      hasUnary: (endpoint) => this.#server.router.get(endpoint) !== undefined,
      unaryNames: () => this.#server.router.names(),
      invoker: this.#server.invoker,
    });
    // One name space for unary and stream endpoints (the stream server checks the other way).
    this.#server.router.alsoTaken((name) => this.#streams.has(name));
    this.#server.router.add("Debug.Health", () => this.#health());
    this.#server.router.add("Debug.Inflight", () => ({
      node: this.nodeId,
      server: this.#server.inflight(),
      client: this.client.inflight(),
      breakers: this.client.breakers(),
    }));
  }

  get address(): string {
    if (this.#listener === undefined) throw new Error(`service ${this.name} is not started`);
    return this.#listener.address;
  }

  get state(): ServiceState {
    return this.#state;
  }

  get advertised(): string {
    if (this.#advertised === undefined) throw new Error(`service ${this.name} is not started`);
    return this.#advertised;
  }

  subscribe<T = any>(topic: string, handler: SubscriberFn<T>, options?: ServiceSubscribeOptions): this {
    if (this.#state !== "new")
      throw new Error(`service ${this.name}: subscribe to "${topic}" before start()`);
    this.#subs.add(topic, handler, options);
    return this;
  }

  handle(handler: object, options?: HandleOptions): this {
    if (isMountable(handler)) {
      // A contract implementation: unary endpoints on the router, stream endpoints beside them.
      handler[MOUNT]({
        unary: (name, fn) => this.#server.router.add(name, fn),
        stream: (name, kind, fn) => this.#streams.add(name, kind, fn),
      });
      return this;
    }
    this.#server.handle(handler, options);
    return this;
  }

  inflight(): InflightSnapshot[] {
    return this.#server.inflight();
  }

  record(): RegistryService {
    const metadata = { ...this.#opts.metadata };
    return {
      name: this.name,
      version: this.version,
      metadata,
      endpoints: [...this.#server.router.endpoints(), ...this.#streams.endpoints()],
      nodes: [
        {
          id: this.nodeId,
          address: this.advertised,
          metadata: {
            ...metadata,
            transport: this.#transport.name,
            protocol: "tsmicro",
            pid: String(process.pid),
          },
        },
      ],
    };
  }

  #health() {
    return {
      status: this.#state === "running" ? "ok" : this.#state,
      service: this.name,
      version: this.version,
      node: this.nodeId,
      address: this.#listener?.address,
      uptimeMs: Date.now() - this.#startedAt,
      inflight: this.#server.active,
      // Readiness, as @tsmicro/health serves it over HTTP: all three true (or broker "unused").
      checks: {
        listening: this.#listener !== undefined && this.#state === "running",
        registered: this.#registered,
        broker: this.#subs.size === 0 ? "unused" : this.#state === "running" ? "connected" : "disconnected",
      },
    };
  }

  /**
   * Listens, subscribes, registers. A failure at any step undoes the ones before it (no
   * listener, subscription or broker connection is left behind) and leaves the service
   * "stopped"; the error is a MicroError naming the service and what to change.
   */
  start(): Promise<void> {
    if (this.#state !== "new") return Promise.reject(new Error(`service ${this.name} was already started`));
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = "starting";
    if (this.#opts.registry === undefined) this.#release = holdDefaultRegistry();
    const address = this.#opts.address ?? (process.env[ENV_SERVER_ADDRESS] || "127.0.0.1:0");
    let connected = false;
    const ttlMs = this.#opts.registerTtlMs;
    try {
      await this.#opts.beforeStart?.();
      try {
        this.#listener = await this.#transport.listen(address, this.#server.dispatch, this.#streams.dispatch);
      } catch (err) {
        throw listenError(this.name, address, err);
      }
      this.#advertised = advertisedAddress(this.#listener.address, {
        advertise: this.#opts.advertise ?? (process.env[ENV_SERVER_ADVERTISE] || undefined),
        option: `the service's advertise option (or ${ENV_SERVER_ADVERTISE})`,
        id: this.name,
      });
      if (this.#subs.size > 0) {
        connected = true;
        await this.broker.connect();
        await this.#subs.start(this.broker);
      }
      const deps = this.#opts.dependencies;
      if (deps.length > 0)
        await waitForDependencies(this.name, this.registry, deps, this.#opts.dependencyTimeoutMs);
      await this.registry.register(this.record(), { ttlMs });
      this.#registered = true;
    } catch (err) {
      await this.#undoStart(connected);
      throw err;
    }
    // Infinity: never refreshed.
    this.#timer = startInterval(() => void this.#refresh(ttlMs), this.#opts.registerIntervalMs, true);
    if (this.#opts.watchdog !== undefined) {
      this.#stopWatchdog = startWatchdog(this.#server.stuck, this.#opts.watchdog);
    }
    this.#state = "running";
    this.#opts.log?.(`tsmicro: ${this.name} (${this.nodeId}) listening on ${this.address}`);
    if (this.#opts.afterStart !== undefined) {
      try {
        await this.#opts.afterStart();
      } catch (err) {
        this.#starting = undefined;
        await this.stop();
        throw err;
      }
    }
  }

  /** One re-registration, behind the registerCheck gate (a failing check deregisters). */
  async #refresh(ttlMs: number): Promise<void> {
    if (this.#opts.registerCheck !== undefined) {
      try {
        await this.#opts.registerCheck();
      } catch (err) {
        const was = this.#registered;
        this.#registered = false;
        this.#opts.log?.(`tsmicro: ${this.name} failed its registerCheck: ${(err as Error).message}`);
        if (was) await this.registry.deregister(this.record()).catch(() => {});
        return;
      }
    }
    if (this.#state !== "running") return;
    await this.registry.register(this.record(), { ttlMs }).then(
      () => {
        this.#registered = true;
      },
      (err: Error) => {
        this.#registered = false;
        this.#opts.log?.(`tsmicro: ${this.name} could not refresh its registration: ${err.message}`);
      },
    );
  }

  async #undoStart(connected: boolean): Promise<void> {
    const quiet = (what: string) => (err: Error) =>
      this.#opts.log?.(`tsmicro: ${this.name} could not ${what} after a failed start: ${err.message}`);
    await this.#subs.stop().catch(quiet("unsubscribe"));
    if (connected && this.#opts.broker === undefined)
      await this.broker.disconnect().catch(quiet("disconnect"));
    await this.#listener?.close().catch(quiet("close its listener"));
    this.#listener = undefined;
    if (this.#opts.client === undefined) await this.client.close().catch(quiet("close its client"));
    await this.#release?.();
    this.#state = "stopped";
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#starting?.catch(() => {});
    if (this.#listener === undefined) {
      if (this.#state === "new") this.#state = "stopped";
      return;
    }
    this.#state = "stopping";
    await this.#hook("beforeStop");
    stopInterval(this.#timer);
    this.#registered = false;
    this.#stopWatchdog?.();
    // Deregister first so that callers stop choosing this node, then drain.
    await this.registry.deregister(this.record()).catch((err: Error) => {
      this.#opts.log?.(`tsmicro: ${this.name} could not deregister: ${err.message}`);
    });
    // No new messages; each subscriber's running handler finishes first.
    await this.#subs.stop();
    await this.#listener.stopAccepting();
    const drainMs = this.#opts.drainTimeoutMs;
    let timer: ReturnType<typeof startTimer>;
    const drained = await Promise.race([
      Promise.all([this.#server.idle(), this.#streams.idle()]).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = startTimer(() => resolve(false), drainMs);
      }),
    ]);
    stopTimer(timer);
    if (!drained) {
      this.#opts.log?.(
        `tsmicro: ${this.name} stopped with ${this.#server.active} request(s) still running after ${drainMs} ms`,
      );
    }
    await this.#listener.close();
    if (this.#opts.client === undefined) await this.client.close();
    if (this.#opts.broker === undefined) {
      await this.broker.disconnect().catch((err: Error) => {
        this.#opts.log?.(`tsmicro: ${this.name} could not disconnect its broker: ${err.message}`);
      });
    }
    await this.#release?.();
    this.#state = "stopped";
    await this.#hook("afterStop");
  }

  /** Runs a stop hook; its failure is logged, never stops the shutdown. */
  async #hook(name: "beforeStop" | "afterStop"): Promise<void> {
    try {
      await this.#opts[name]?.();
    } catch (err) {
      const log = this.#opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
      log(`tsmicro: ${this.name}: ${name} hook failed: ${(err as Error).message}`);
    }
  }

  async runMain(): Promise<never> {
    return this.run({ exitProcess: true }) as Promise<never>;
  }

  async run(options: { exitProcess?: boolean } = {}): Promise<void> {
    const exit = options.exitProcess ?? false;
    // Listening for the signal before starting: one that arrives during start() stops the
    // service once it has started (deregistered and drained), instead of being missed.
    let onSignal: ((sig: NodeJS.Signals) => void) | undefined;
    const signalled = new Promise<void>((resolve) => {
      onSignal = (sig) => {
        this.#opts.log?.(`tsmicro: ${this.name} received ${sig}, stopping`);
        resolve();
      };
    });
    const handler = onSignal!;
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
    try {
      await this.start();
    } catch (err) {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
      if (!exit) throw err;
      // As go-micro's Run: one line saying what failed, and a failing exit status.
      process.stderr.write(`tsmicro: ${(err as Error).message}\n`);
      process.exit(1);
    }
    // A program started with run() says it is up; with a log, start() already said so there.
    if (this.#opts.log === undefined) {
      process.stderr.write(
        `tsmicro: ${this.name} listening on ${this.address}, registered in ${this.registry.name}; Ctrl-C stops it\n`,
      );
    }
    await signalled;
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
    await this.stop();
    if (exit) process.exit(0);
  }
}

/** Creates a service (go-micro's micro.NewService); `start()` or `run()` serves it. */
export function newService(options: ServiceOptions): MicroService {
  return new ServiceImpl(options);
}
