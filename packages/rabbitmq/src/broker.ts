/**
 * The RabbitMQ broker (amqplib): at-least-once. Topics are routing keys on one durable topic
 * exchange; a queue group is a durable queue (`<prefix><topic>:<queue>`) that keeps messages
 * while no member runs; a broadcast subscription is an exclusive queue of its own. Publishes
 * are persistent and resolve on the publisher confirm. Deliveries are acked manually after
 * the handler; an unacked delivery (its subscriber died, or the connection dropped) is
 * delivered again by RabbitMQ. RabbitMQ does not count deliveries, so a redelivery or a
 * retry is re-queued as a copy carrying its delivery count (`micro-attempt`) before it is
 * handled: a message that keeps crashing its subscriber still reaches the dead-letter topic.
 */
import { credentials as amqpCredentials, type ChannelModel } from "amqplib";
import type { Broker } from "tsmicro";
import {
  type BrokerHandler,
  type BrokerOptions,
  errorSink,
  HEADER,
  type BrokerMessage as Message,
  notConnected,
  type PublishOptions,
  publishWithRetry,
  resolveSubscribeOptions,
  type SubscribeOptions,
  type Subscriber,
} from "tsmicro/plugin";
import { Consumer } from "./consumer.js";
import { DEFAULT_RABBITMQ_URL, Link } from "./link.js";

export interface RabbitBrokerOptions extends BrokerOptions {
  /** @default "amqp://guest:guest@127.0.0.1:5672" */
  url?: string;
  /** The topic exchange every topic is a routing key on. @default "tsmicro" */
  exchange?: string;
  /** Prefix of the durable queue of each queue group (`<prefix><topic>:<queue>`). @default "tsmicro:" */
  queuePrefix?: string;
  /** Unacked deliveries a subscription holds (AMQP prefetch). @default 128 */
  prefetch?: number;
  /**
   * Keep dead letters in a durable queue (`<prefix><dead-letter topic>:kept`) bound when a
   * subscription is made, so they are not lost while nobody subscribes to the dead-letter topic. @default true
   */
  keepDeadLetters?: boolean;
  /** AMQP heartbeat, seconds: how soon a dead connection is noticed. @default 5 */
  heartbeatSeconds?: number;
  /**
   * User and password, instead of the URL's (so a secret need not sit in a URL that ends up in
   * logs). Give each service its own user with permissions on one vhost (the URL's path).
   * @default the URL's (guest/guest only works from localhost)
   */
  credentials?: { username: string; password: string };
  /**
   * TLS with server identity, for an `amqps://` URL: the server's certificate must be signed by
   * `ca` (default: public roots) and name the host dialled (or `serverName`); `cert`/`key` for
   * client-certificate auth. Given with an `amqp://` URL it is a TypeError. @default none
   */
  tls?: RabbitTlsOptions;
}

export interface RabbitTlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  serverName?: string;
}

/** amqplib socket options for `credentials` and `tls`; a TypeError for TLS on a plaintext URL. */
export function rabbitSecurityOptions(
  url: string,
  options: Pick<RabbitBrokerOptions, "credentials" | "tls">,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (options.credentials !== undefined) {
    out.credentials = amqpCredentials.plain(options.credentials.username, options.credentials.password);
  }
  const tls = options.tls;
  if (tls !== undefined) {
    if (!/^amqps:\/\//i.test(url))
      throw new TypeError(`rabbitmq: tls needs an amqps:// URL, got ${redact(url)}`);
    if (tls.ca !== undefined) out.ca = [tls.ca];
    if (tls.cert !== undefined) out.cert = tls.cert;
    if (tls.key !== undefined) out.key = tls.key;
    if (tls.serverName !== undefined) out.servername = tls.serverName;
    out.rejectUnauthorized = true;
  }
  return out;
}

export const DEFAULT_RABBIT_BROKER_OPTIONS = {
  url: DEFAULT_RABBITMQ_URL,
  exchange: "tsmicro",
  queuePrefix: "tsmicro:",
  prefetch: 128,
  keepDeadLetters: true,
  heartbeatSeconds: 5,
} as const satisfies RabbitBrokerOptions;

/** How long `connect()` waits for RabbitMQ (a certificate it refuses fails at once). */
const CONNECT_TIMEOUT_MS = 10_000;

export function createRabbitBroker(options: RabbitBrokerOptions = {}): Broker {
  const o = { ...DEFAULT_RABBIT_BROKER_OPTIONS, ...options };
  const name = `rabbitmq (${redact(o.url)})`;
  const security = rabbitSecurityOptions(o.url, options);
  const onError = errorSink(options);
  const active = new Set<Consumer>();
  let link = newLink();
  let closed = false;
  let exchangeReady: ChannelModel | undefined;

  function newLink() {
    return new Link(o.url, onError, { heartbeat: o.heartbeatSeconds, ...security });
  }

  // Resolves on the broker's confirm; retried across reconnects until the deadline, so the
  // message is stored at least once or the caller hears why.
  const publish = (topic: string, message: Message, opts?: PublishOptions): Promise<void> =>
    publishWithRetry({ broker: name, topic, message, options: opts, closed }, async (n, deadline) => {
      let ready = link.ready();
      if (ready === undefined || exchangeReady !== ready.model) {
        deadline.setPhase(link.connected ? "opening a channel" : "waiting for RabbitMQ to reconnect");
        const ch = await link.confirmChannel(deadline.signal, name);
        const model = await link.model(deadline.signal, name);
        if (exchangeReady !== model) {
          await ch.assertExchange(o.exchange, "topic", { durable: true });
          exchangeReady = model;
        }
        ready = { ch, model };
      }
      const { ch } = ready;
      deadline.setPhase(`waiting for the publisher confirm (attempt ${n})`);
      await new Promise<void>((resolve, reject) => {
        // Bounded by the deadline through the shared sweep: no timer per publish.
        const unwatch = deadline.watch(reject);
        ch.publish(
          o.exchange,
          topic,
          Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
          {
            headers: message.headers,
            persistent: true,
            ...(message.headers[HEADER.id] === undefined ? {} : { messageId: message.headers[HEADER.id] }),
          },
          (err: unknown) => {
            unwatch();
            if (err) reject(err instanceof Error ? err : new Error(String(err)));
            else resolve();
          },
        );
      });
    });

  return {
    name,
    async connect() {
      closed = false;
      try {
        await link.model(AbortSignal.timeout(CONNECT_TIMEOUT_MS), name);
      } catch (err) {
        throw link.notConnectedError(err, name, CONNECT_TIMEOUT_MS);
      }
    },
    async disconnect() {
      if (closed) return;
      closed = true;
      const all = [...active];
      active.clear();
      await Promise.all(all.map((c) => c.stop()));
      const old = link;
      link = newLink();
      exchangeReady = undefined;
      await old.close();
    },
    publish,
    async subscribe(topic: string, handler: BrokerHandler, opts?: SubscribeOptions): Promise<Subscriber> {
      const resolved = resolveSubscribeOptions(topic, opts, name);
      if (closed) throw notConnected(name, `subscribe to "${topic}"`);
      const consumer = new Consumer({
        link,
        broker: name,
        topic,
        options: resolved,
        handler,
        exchange: o.exchange,
        queue: resolved.queue === undefined ? undefined : `${o.queuePrefix}${topic}:${resolved.queue}`,
        keepDeadLetters:
          o.keepDeadLetters && resolved.deadLetterTopic !== false
            ? `${o.queuePrefix}${resolved.deadLetterTopic}:kept`
            : undefined,
        prefetch: o.prefetch,
        publish,
        broadcastPrefix: `${o.queuePrefix}${topic}:b-`,
        onError,
      });
      await consumer.start(AbortSignal.timeout(10_000));
      active.add(consumer);
      return {
        topic,
        queue: resolved.queue,
        async unsubscribe() {
          if (!active.delete(consumer)) return;
          await consumer.stop();
        },
      };
    },
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
