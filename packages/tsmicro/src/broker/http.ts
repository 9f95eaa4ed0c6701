/**
 * The embedded default broker (go-micro's http broker): no server to run. Each subscription
 * is an HTTP endpoint of this process, registered in the registry; a publisher looks the
 * topic up there and POSTs the message to every broadcast subscriber and to one member of
 * each queue group. Works with the local registry, so processes on one host need nothing else.
 * Fire-and-forget: a message accepted by a subscriber lives in that process's memory.
 */
import http from "node:http";
import { MicroError } from "../errors.js";
import { type InflightCall, setPhase } from "../inflight.js";
import { defaultRegistry } from "../registry/default.js";
import type { Node, Registry } from "../registry/registry.js";
import { NodeAttempt } from "../selector/node-attempt.js";
import { ENV_BROKER_ADVERTISE, parseAddress } from "../transport/address.js";
import { markTransportFailure } from "../transport/failure.js";
import type { Broker, BrokerMessage, BrokerOptions, PublishOptions } from "./broker.js";
import { brokerServiceName, groupVersion, SubscriberDirectory } from "./http-directory.js";
import { createSubscriptionEndpoint } from "./http-endpoint.js";
import { resolveHttpBrokerOptions } from "./http-options.js";
import { postToSubscriber } from "./http-post.js";
import { serveSubscriptions } from "./http-server.js";
import { encodeMessageFrame, MESSAGE_FRAME_CONTENT_TYPE } from "./message-frame.js";
import { errorSink } from "./options.js";
import { publishWithRetry } from "./publish.js";

export interface HttpBrokerOptions extends BrokerOptions {
  /** Where subscribers register and publishers look them up. @default the process default registry */
  registry?: Registry;
  /** `host:port` the subscription endpoint listens on; port 0 picks a free one. @default "127.0.0.1:0" */
  address?: string;
  /**
   * `host:port` (or a bare host, which takes the bound port) other processes dial, when it
   * differs from the bound address (NAT, containers). A wildcard bind (`0.0.0.0`, `::`) with
   * nothing advertised registers this host's first non-loopback, non-link-local address.
   * @default the bound address ($MICRO_BROKER_ADVERTISE through brokerFromEnv)
   */
  advertise?: string;
  /** Subscription registration lifetime. @default 30000 */
  registerTtlMs?: number;
  /** How often subscriptions refresh their registration. @default 10000 */
  registerIntervalMs?: number;
  /** Largest message a subscriber accepts (headers + body), in bytes. @default 4194304 (4 MiB) */
  maxMessageBytes?: number;
  /** Messages a subscription holds before its endpoint answers more slowly (backpressure). @default 1000 */
  maxPending?: number;
  /** How long a publisher trusts its cached view of a topic's subscribers, in ms (a registry watch also refreshes it). @default 10000 */
  cacheTtlMs?: number;
  /** Sockets per subscriber address the publisher keeps. @default 16 */
  maxSockets?: number;
}

export { DEFAULT_HTTP_BROKER_OPTIONS } from "./http-options.js";

export function createHttpBroker(options: HttpBrokerOptions = {}): Broker {
  const o = resolveHttpBrokerOptions(options);
  const registry = options.registry ?? defaultRegistry();
  const onError = errorSink(options);
  const name = `http (registry ${registry.name})`;
  const directory = new SubscriberDirectory(registry, {
    cacheTtlMs: o.cacheTtlMs,
    emptyCacheTtlMs: 250,
    goneMs: o.registerTtlMs * 2,
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.maxSockets });
  const turns = new Map<string, number>();

  const endpoint = createSubscriptionEndpoint({
    name,
    registry,
    address: o.address,
    advertise: o.advertise,
    addressOption: "http broker address",
    advertiseOption: `the http broker's advertise option (or ${ENV_BROKER_ADVERTISE})`,
    label: "http broker",
    registerTtlMs: o.registerTtlMs,
    registerIntervalMs: o.registerIntervalMs,
    onError,
    createServer: (lookup) =>
      serveSubscriptions({ lookup, maxMessageBytes: o.maxMessageBytes, maxPending: o.maxPending }),
    record: (s, address) => ({
      name: brokerServiceName(s.topic),
      version: groupVersion(s.queue),
      metadata: {},
      endpoints: [],
      nodes: [
        {
          id: s.id,
          address,
          metadata: { broker: "http", topic: s.topic, queue: s.queue ?? "", path: `/broker/${s.id}` },
        },
      ],
    }),
    publish: (topic, message, opts) => publish(topic, message, opts),
    release: () => {
      directory.close();
      agent.destroy();
    },
  });

  // The attempt's phase follows the socket: dialing while a new one connects, then publishing.
  const post = (node: Node, body: Buffer, signal: AbortSignal, attempt: NodeAttempt) => {
    const { host, port } = parseAddress(node.address, "subscriber address");
    return postToSubscriber(
      {
        host,
        port,
        path: node.metadata.path ?? `/broker/${node.id}`,
        contentType: MESSAGE_FRAME_CONTENT_TYPE,
        agent,
        signal,
        onSocket: (socket) => {
          if (!socket.connecting) attempt.enter("publishing");
          else {
            attempt.enter("dialing");
            socket.once("connect", () => attempt.enter("publishing"));
          }
        },
      },
      body,
    );
  };

  /**
   * One message to one subscriber node, as one node attempt (the client's calls share it): the
   * directory hears how it went, as a selector does (a subscriber that is gone is skipped for a
   * while), and the publisher's in-flight record follows the phases. True once it took the message.
   */
  const deliver = async (
    topic: string,
    node: Node,
    body: Buffer,
    signal: AbortSignal,
    record: InflightCall | undefined,
  ): Promise<boolean> => {
    const attempt = new NodeAttempt(brokerServiceName(topic), directory, record);
    attempt.chose(node, true);
    let result: "ok" | "gone";
    try {
      result = await post(node, body, signal, attempt);
    } catch (err) {
      attempt.failed(MicroError.from(err));
      throw err;
    }
    if (result === "ok") attempt.succeeded();
    else attempt.failed(subscriberGone(topic, node));
    return result === "ok";
  };

  // A subscriber that cannot be reached is skipped or fails the publish: nothing to retry here.
  const publish = (topic: string, message: BrokerMessage, opts?: PublishOptions): Promise<void> => {
    const record = opts?.inflight;
    return publishWithRetry(
      { broker: name, topic, message, options: opts, closed: endpoint.state === "disconnected" },
      async (_n, deadline) => {
        deadline.setPhase("looking up subscribers");
        setPhase(record, "selecting");
        const targets = await directory.lookup(topic);
        const body = encodeMessageFrame(topic, message);
        deadline.setPhase("delivering to subscribers");
        const sends: Promise<void>[] = [];
        for (const node of targets.broadcast) {
          sends.push(deliver(topic, node, body, deadline.signal, record).then(() => {}));
        }
        for (const [version, members] of targets.groups) {
          sends.push(toOneMember(topic, version, members, body, deadline.signal, record));
        }
        const results = await Promise.allSettled(sends);
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed.length > 0) {
          const first = failed[0]!.reason as Error;
          throw new MicroError({
            id: "tsmicro",
            code: first instanceof MicroError ? first.code : 503,
            detail: `publish to "${topic}" on broker ${name}: ${failed.length} of ${results.length} subscriber(s) did not take the message: ${first.message}`,
            retryable: true,
            cause: first,
          });
        }
      },
      false,
    );
  };

  // One member of the group takes it; members that are gone are skipped, in round-robin order.
  const toOneMember = async (
    topic: string,
    version: string,
    members: Node[],
    body: Buffer,
    signal: AbortSignal,
    record: InflightCall | undefined,
  ) => {
    const key = `${topic}\u0000${version}`;
    const start = turns.get(key) ?? 0;
    turns.set(key, start + 1);
    for (let i = 0; i < members.length; i++) {
      const node = members[(start + i) % members.length]!;
      if (await deliver(topic, node, body, signal, record)) return;
    }
    throw new MicroError({
      id: "tsmicro",
      code: 503,
      detail: `no member of queue group "${version.slice("queue:".length)}" on "${topic}" is reachable (tried ${members.length})`,
      retryable: true,
    });
  };

  return {
    name,
    connect: endpoint.connect,
    disconnect: endpoint.disconnect,
    publish,
    subscribe: endpoint.subscribe,
  };
}

/** A subscriber that refused the connection or no longer has the subscription: not reachable. */
function subscriberGone(topic: string, node: Node): MicroError {
  return markTransportFailure(
    new MicroError({
      id: "tsmicro",
      code: 503,
      detail: `subscriber ${node.id} to "${topic}" at ${node.address} is gone`,
      retryable: true,
    }),
  );
}
