/**
 * go-micro v4's default broker (go-micro.dev/v4/broker/http.go) in tsmicro: every
 * subscription is a node of the registry service `micro.http.broker` (version: the queue name,
 * or `ff.http.broadcast`; node metadata `broker: http`, `topic`, `secure`), and a publisher
 * POSTs go-micro's `broker.Message` JSON (`{"Header":{...},"Body":"<base64>"}`, the topic in
 * `Micro-Topic`) to `http://<node address>/?id=<node id>`. A go-micro publisher and a
 * tsmicro subscriber (and the reverse) find each other through the shared registry.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import { type Broker, badRequest, MicroError, type Registry } from "tsmicro";
import {
  type BrokerMessage,
  type BrokerOptions,
  createSubscriptionEndpoint,
  errorSink,
  notConnected,
  type PublishOptions,
  parseAddress,
  postToSubscriber,
  publishWithRetry,
  type SerialSubscription,
} from "tsmicro/plugin";
import { goMicroNatsMessageFormat as messageFormat } from "./broker.js";
import { GoMicroSubscriberDirectory, type Target } from "./http-broker-directory.js";

/** The registry service go-micro's http broker registers every subscription under. */
export const GO_MICRO_HTTP_BROKER_SERVICE = "micro.http.broker";
/** The version of a subscription without a queue group: every such subscriber gets every message. */
export const GO_MICRO_HTTP_BROADCAST_VERSION = "ff.http.broadcast";

export interface GoMicroHttpBrokerOptions extends BrokerOptions {
  /** The registry go-micro's services use (etcd or NATS, see createGoMicroEtcdRegistry). Required. */
  registry: Registry;
  /** `host:port` the subscriber endpoint listens on; port 0 picks a free one. @default "127.0.0.1:0" */
  address?: string;
  /** `host:port` (or a bare host) registered for other processes to dial. @default the bound address */
  advertise?: string;
  /** Subscription registration lifetime (go-micro's http broker uses one minute). @default 60000 */
  registerTtlMs?: number;
  /** How often subscriptions refresh their registration (go-micro: 30 s). @default 30000 */
  registerIntervalMs?: number;
  /** How long a publisher trusts its cached list of subscribers, in ms (a registry watch also refreshes it). @default 10000 */
  cacheTtlMs?: number;
  /** Largest message body (the JSON) a subscriber accepts, in bytes. @default 4194304 (4 MiB) */
  maxMessageBytes?: number;
  /** Messages a subscription holds before its endpoint answers more slowly (backpressure). @default 1000 */
  maxPending?: number;
  /** Sockets per subscriber address the publisher keeps. @default 16 */
  maxSockets?: number;
}

export const DEFAULT_GO_MICRO_HTTP_BROKER_OPTIONS = {
  address: "127.0.0.1:0",
  registerTtlMs: 60_000,
  registerIntervalMs: 30_000,
  cacheTtlMs: 10_000,
  maxMessageBytes: 4 * 1024 * 1024,
  maxPending: 1000,
  maxSockets: 16,
} as const;

const ID = "go.micro.broker";

/**
 * A broker speaking go-micro's http broker format through `registry`. Delivery is what
 * go-micro's is: at most once, in memory, to the subscribers registered when a message is
 * published (one member per queue group). Unlike go-micro's publisher, `publish` resolves
 * once every chosen subscriber took the message and fails when one refused it.
 */
export function createGoMicroHttpBroker(options: GoMicroHttpBrokerOptions): Broker {
  const o = { ...DEFAULT_GO_MICRO_HTTP_BROKER_OPTIONS, ...options };
  const registry = options.registry;
  const onError = errorSink(options);
  const name = `go-micro http (registry ${registry.name})`;
  const directory = new GoMicroSubscriberDirectory(registry, GO_MICRO_HTTP_BROKER_SERVICE, {
    cacheTtlMs: o.cacheTtlMs,
    goneMs: o.registerTtlMs,
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.maxSockets });
  const turns = new Map<string, number>();

  const serve = (
    lookup: (id: string) => SerialSubscription | undefined,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ) => {
    const fail = (err: MicroError) => {
      if (!res.headersSent)
        res.writeHead(err.code, { "content-type": "application/json" }).end(JSON.stringify(err));
    };
    const url = new URL(req.url ?? "/", "http://broker");
    const sub = lookup(url.searchParams.get("id") ?? "");
    if (req.method !== "POST" || sub === undefined) {
      req.resume();
      fail(
        new MicroError({
          id: ID,
          code: 404,
          detail: `http broker: no subscription at ${req.method} ${req.url}`,
        }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > o.maxMessageBytes) {
        fail(
          new MicroError({
            id: ID,
            code: 413,
            detail: `http broker: message of more than ${o.maxMessageBytes} bytes for "${sub.topic}"`,
          }),
        );
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("error", () => {});
    req.on("end", () => {
      if (res.headersSent) return;
      let message: BrokerMessage;
      try {
        message = messageFormat.decode(Buffer.concat(chunks));
      } catch (err) {
        fail(MicroError.from(err, ID, 400));
        return;
      }
      const topic = message.headers["micro-topic"];
      if (topic !== sub.topic) {
        fail(
          badRequest(
            ID,
            `http broker: message for "${topic ?? ""}" sent to a subscription to "${sub.topic}"`,
          ),
        );
        return;
      }
      void sub.below(o.maxPending).then(() => {
        if (sub.push(message)) res.writeHead(200).end();
        else fail(new MicroError({ id: ID, code: 404, detail: "http broker: the subscription was closed" }));
      });
    });
  };

  const endpoint = createSubscriptionEndpoint({
    name,
    registry,
    address: o.address,
    advertise: o.advertise,
    addressOption: "go-micro http broker address",
    advertiseOption: "the go-micro http broker's advertise option",
    label: "go-micro http broker",
    registerTtlMs: o.registerTtlMs,
    registerIntervalMs: o.registerIntervalMs,
    onError,
    createServer: (lookup) => {
      const srv = http.createServer((req, res) => serve(lookup, req, res));
      srv.keepAliveTimeout = 65_000;
      return srv;
    },
    record: (s, address) => ({
      name: GO_MICRO_HTTP_BROKER_SERVICE,
      version: s.queue ?? GO_MICRO_HTTP_BROADCAST_VERSION,
      metadata: {},
      endpoints: [],
      nodes: [{ id: s.id, address, metadata: { secure: "false", broker: "http", topic: s.topic } }],
    }),
    // go-micro's node id shape: the topic, then a UUID.
    newId: (topic) => `${topic}-${randomUUID()}`,
    publish: (topic, message, opts) => publish(topic, message, opts),
    release: () => {
      directory.close();
      agent.destroy();
    },
  });

  const post = async (node: Target, body: Buffer, signal: AbortSignal) => {
    // go-micro marks subscribers behind TLS (`secure`); this broker speaks plain HTTP only.
    if (node.metadata.secure === "true") {
      throw new MicroError({
        id: ID,
        code: 501,
        detail: `http broker: subscriber ${node.id} at ${node.address} is secure (TLS), which this broker does not speak`,
      });
    }
    const { host, port } = parseAddress(node.address, "go-micro http broker subscriber address");
    return postToSubscriber(
      {
        host,
        port,
        path: `/?${new URLSearchParams({ id: node.id })}`,
        contentType: "application/json",
        agent,
        signal,
      },
      body,
    );
  };

  const publish = (topic: string, message: BrokerMessage, opts?: PublishOptions): Promise<void> =>
    publishWithRetry(
      { broker: name, topic, message, options: opts, closed: endpoint.state === "disconnected" },
      async (_n, deadline) => {
        deadline.setPhase("looking up subscribers");
        const targets = await directory.lookup(topic);
        // As go-micro's publisher: the topic published to is the Micro-Topic (a dead letter keeps
        // its original topic in micro-dead-letter-topic).
        const body = Buffer.from(
          messageFormat.encode(topic, { ...message, headers: { ...message.headers, "micro-topic": topic } }),
        );
        deadline.setPhase("delivering to subscribers");
        const sends: Promise<void>[] = targets.broadcast.map((node) =>
          post(node, body, deadline.signal).then((r) => {
            if (r === "gone") directory.gone(node.id);
          }),
        );
        for (const [queue, members] of targets.groups) {
          sends.push(
            (async () => {
              const key = `${topic}\u0000${queue}`;
              const start = turns.get(key) ?? 0;
              turns.set(key, start + 1);
              for (let i = 0; i < members.length; i++) {
                const node = members[(start + i) % members.length]!;
                if ((await post(node, body, deadline.signal)) === "ok") return;
                directory.gone(node.id);
              }
              throw new MicroError({
                id: ID,
                code: 503,
                detail: `no member of queue group "${queue}" on "${topic}" is reachable (tried ${members.length})`,
                retryable: true,
              });
            })(),
          );
        }
        const results = await Promise.allSettled(sends);
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed.length > 0) {
          const first = failed[0]!.reason as Error;
          throw new MicroError({
            id: ID,
            code: first instanceof MicroError ? first.code : 503,
            detail: `publish to "${topic}" on broker ${name}: ${failed.length} of ${results.length} subscriber(s) did not take the message: ${first.message}`,
            retryable: true,
            cause: first,
          });
        }
      },
      false,
    );

  return {
    name,
    // Once disconnected it stays so (the core's http broker listens afresh instead).
    async connect() {
      if (endpoint.state === "disconnected") throw notConnected(name, "connect");
      await endpoint.connect();
    },
    disconnect: endpoint.disconnect,
    publish,
    subscribe: endpoint.subscribe,
  };
}
