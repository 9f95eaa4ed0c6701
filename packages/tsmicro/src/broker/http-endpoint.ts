/**
 * The receiving half of a broker whose subscribers are HTTP endpoints found through a registry
 * (the core's http broker, go-micro's): one listener per process, each subscription a registry
 * node refreshed while it lives, all of them deregistered and closed on disconnect. The broker
 * keeps what differs: the wire format (the server it passes in), the record, the publisher.
 */
import { randomUUID } from "node:crypto";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { MicroError } from "../errors.js";
import type { Registry, Service } from "../registry/registry.js";
import { advertisedAddress, joinHostPort, listenAt } from "../transport/address.js";
import { type IntervalTimer, startInterval, stopInterval } from "../util/deadline.js";
import type { BrokerHandler, BrokerMessage, PublishOptions, SubscribeOptions, Subscriber } from "./broker.js";
import { notConnected, resolveSubscribeOptions } from "./options.js";
import { SerialSubscription } from "./serial.js";

/** One subscription as the endpoint keeps it. */
export interface EndpointSubscription {
  readonly id: string;
  readonly topic: string;
  readonly queue: string | undefined;
  readonly sub: SerialSubscription;
}

export interface SubscriptionEndpointOptions {
  /** The broker's name, in errors. */
  name: string;
  registry: Registry;
  /** `host:port` to listen on (port 0: a free one). */
  address: string;
  /** What to register instead of the bound address, if anything. */
  advertise: string | undefined;
  /** Names the address in a listen error: `"http broker address"`. */
  addressOption: string;
  /** Names the advertise option in an error: `"the http broker's advertise option"`. */
  advertiseOption: string;
  /** Starts a refresh error: `"http broker"` → `http broker: could not refresh subscription to "t": …`. */
  label: string;
  registerTtlMs: number;
  registerIntervalMs: number;
  onError: (err: Error) => void;
  /** The (not yet listening) server that hands each request to the subscription `lookup` finds. */
  createServer: (lookup: (id: string) => SerialSubscription | undefined) => http.Server;
  /** The registry record announcing one subscription, reachable at `address` (the advertised one). */
  record: (s: EndpointSubscription, address: string) => Service;
  /** A new subscription's id. @default a random UUID */
  newId?: (topic: string) => string;
  /** What a subscriber's handler publishes through (replies, dead letters): the broker's publish. */
  publish: (topic: string, message: BrokerMessage, opts?: PublishOptions) => Promise<void>;
  /** Frees what the broker holds besides (its directory, its agent), on disconnect before the listener closes. */
  release?: () => void;
}

export interface SubscriptionEndpoint {
  readonly state: "new" | "connected" | "disconnected";
  /** Listens (once) and starts refreshing registrations; after a disconnect, listens afresh. */
  connect(): Promise<void>;
  /** Deregisters and closes every subscription, then closes the listener. Idempotent. */
  disconnect(): Promise<void>;
  /** Connects, then registers a subscription; fails, keeping nothing, when it cannot be registered. */
  subscribe(topic: string, handler: BrokerHandler, opts?: SubscribeOptions): Promise<Subscriber>;
}

export function createSubscriptionEndpoint(o: SubscriptionEndpointOptions): SubscriptionEndpoint {
  const { name, registry, onError } = o;
  const newId = o.newId ?? (() => randomUUID());
  const subs = new Map<string, EndpointSubscription>();
  let state: SubscriptionEndpoint["state"] = "new";
  let server: http.Server | undefined;
  let starting: Promise<void> | undefined;
  let refresh: IntervalTimer;
  let advertised = "";

  const record = (s: EndpointSubscription) => o.record(s, advertised);

  const start = async (): Promise<void> => {
    const srv = o.createServer((id) => subs.get(id)?.sub);
    await listenAt(srv, o.address, o.addressOption);
    const a = srv.address() as AddressInfo;
    try {
      advertised = advertisedAddress(joinHostPort(a.address, a.port), {
        advertise: o.advertise,
        option: o.advertiseOption,
      });
    } catch (err) {
      await new Promise<void>((r) => srv.close(() => r()));
      throw err;
    }
    server = srv;
    refresh = startInterval(
      () => {
        for (const s of subs.values()) {
          registry.register(record(s), { ttlMs: o.registerTtlMs }).catch((err: Error) => {
            onError(new Error(`${o.label}: could not refresh subscription to "${s.topic}": ${err.message}`));
          });
        }
      },
      o.registerIntervalMs,
      true,
    );
  };
  // One start shared by concurrent connects; a failed one (the port taken, a refused advertise)
  // is forgotten, so that the next connect tries again.
  const listen = (): Promise<void> => {
    if (starting !== undefined) return starting;
    const p = start().catch((err: unknown) => {
      if (starting === p) starting = undefined;
      throw err;
    });
    starting = p;
    return p;
  };

  const connect = async () => {
    state = "connected";
    await listen();
  };

  return {
    get state() {
      return state;
    },
    connect,
    async disconnect() {
      if (state === "disconnected") return;
      state = "disconnected";
      const all = [...subs.values()];
      subs.clear();
      await Promise.all(all.map((s) => registry.deregister(record(s)).catch(() => {})));
      await Promise.all(all.map((s) => s.sub.close()));
      stopInterval(refresh);
      o.release?.();
      const srv = server;
      server = undefined;
      starting = undefined;
      if (srv !== undefined) {
        srv.closeAllConnections();
        await new Promise<void>((r) => srv.close(() => r()));
      }
    },
    async subscribe(topic, handler, opts) {
      const resolved = resolveSubscribeOptions(topic, opts, name);
      if (state === "disconnected") throw notConnected(name, `subscribe to "${topic}"`);
      await connect();
      const s: EndpointSubscription = {
        id: newId(topic),
        topic,
        queue: resolved.queue,
        sub: new SerialSubscription(topic, {
          options: resolved,
          handler,
          publish: o.publish,
          onError,
          broker: name,
        }),
      };
      subs.set(s.id, s);
      try {
        await registry.register(record(s), { ttlMs: o.registerTtlMs });
      } catch (err) {
        subs.delete(s.id);
        throw MicroError.from(err).with({
          detail: `broker ${name}: could not register the subscription to "${topic}": ${(err as Error).message}`,
        });
      }
      return {
        topic,
        queue: resolved.queue,
        async unsubscribe() {
          if (!subs.delete(s.id)) return;
          await registry.deregister(record(s)).catch(() => {});
          await s.sub.close();
        },
      };
    },
  };
}
