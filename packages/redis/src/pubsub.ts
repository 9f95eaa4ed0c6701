/**
 * The Redis pub/sub broker: fire-and-forget. A message reaches the subscribers connected when
 * it is published (`PUBLISH`); Redis keeps no copy. Pub/sub has no queue groups, so a
 * subscription with `queue` is refused with a 400 pointing at the streams broker.
 */
import type { Redis } from "ioredis";
import { type Broker, badRequest, MicroError } from "tsmicro";
import {
  type BrokerHandler,
  type BrokerOptions,
  decodeMessageFrame,
  encodeMessageFrame,
  errorSink,
  type BrokerMessage as Message,
  notConnected,
  type PublishOptions,
  publishWithRetry,
  resolveSubscribeOptions,
  SerialSubscription,
  type SubscribeOptions,
  type Subscriber,
} from "tsmicro/plugin";
import { openRedis, type RedisConnectionOptions, ready } from "./connection.js";
import { resolveRedisPubSubBrokerOptions } from "./options.js";

export interface RedisPubSubBrokerOptions extends BrokerOptions, RedisConnectionOptions {
  /** Prefix of each topic's channel. @default "tsmicro:" */
  keyPrefix?: string;
}

export function createRedisPubSubBroker(given: RedisPubSubBrokerOptions = {}): Broker {
  const options = resolveRedisPubSubBrokerOptions(given);
  const prefix = options.keyPrefix;
  const name = `redis pub/sub (${options.url})`;
  const onError = errorSink(options);
  const channels = new Map<string, Set<SerialSubscription>>();
  const confirmed = new Map<string, Promise<unknown>>();
  let cmd: Redis | undefined;
  let sub: Redis | undefined;
  let closed = false;

  const pub = () => {
    if (cmd === undefined) {
      cmd = openRedis(options, "pub");
      cmd.on("error", () => {});
    }
    return cmd;
  };
  const subscriber = () => {
    if (sub === undefined) {
      sub = openRedis(options, "sub");
      sub.on("error", () => {});
      sub.on("messageBuffer", (channel: Buffer, data: Buffer) => {
        const subs = channels.get(channel.toString());
        if (subs === undefined || subs.size === 0) return;
        let message: Message;
        try {
          message = decodeMessageFrame(data).message;
        } catch (err) {
          onError(new Error(`broker ${name}: undecodable message on ${channel}: ${(err as Error).message}`));
          return;
        }
        for (const s of subs) s.push({ headers: { ...message.headers }, body: message.body });
      });
    }
    return sub;
  };

  const publish = (topic: string, message: Message, opts?: PublishOptions): Promise<void> => {
    const r = pub();
    return publishWithRetry({ broker: name, topic, message, options: opts, closed }, async (_n, deadline) => {
      if (r.status !== "ready") {
        deadline.setPhase("waiting for the Redis connection");
        await ready(r, deadline.signal, name);
      }
      await r.publish(prefix + topic, encodeMessageFrame(topic, message));
    });
  };

  return {
    name,
    async connect() {
      closed = false;
      await ready(pub(), AbortSignal.timeout(10_000), name);
    },
    async disconnect() {
      if (closed) return;
      closed = true;
      const all = [...channels.values()].flatMap((s) => [...s]);
      channels.clear();
      confirmed.clear();
      await Promise.all(all.map((s) => s.close()));
      const [c, s] = [cmd, sub];
      cmd = undefined;
      sub = undefined;
      await Promise.all([c, s].map((r) => r?.quit().catch(() => r.disconnect())));
    },
    publish,
    async subscribe(topic: string, handler: BrokerHandler, opts?: SubscribeOptions): Promise<Subscriber> {
      const resolved = resolveSubscribeOptions(topic, opts, name);
      if (resolved.queue !== undefined) {
        throw badRequest(
          "tsmicro",
          `broker ${name}: Redis pub/sub has no queue groups (queue "${resolved.queue}" on "${topic}"); use the streams broker (MICRO_BROKER=redis)`,
        );
      }
      if (closed) throw notConnected(name, `subscribe to "${topic}"`);
      const s = subscriber();
      await ready(s, AbortSignal.timeout(10_000), name).catch((err: Error) => {
        throw new MicroError({
          id: "tsmicro",
          code: 503,
          detail: `broker ${name}: cannot subscribe: ${err.message}`,
        });
      });
      const channel = prefix + topic;
      const serial = new SerialSubscription(topic, {
        options: resolved,
        handler,
        publish,
        onError,
        broker: name,
      });
      let set = channels.get(channel);
      if (set === undefined) {
        set = new Set();
        channels.set(channel, set);
      }
      set.add(serial);
      // Resolves once Redis confirmed: publishes after this reach the subscription.
      let ok = confirmed.get(channel);
      if (ok === undefined) {
        ok = s.subscribe(channel);
        confirmed.set(channel, ok);
      }
      await ok;
      return {
        topic,
        queue: undefined,
        async unsubscribe() {
          const current = channels.get(channel);
          if (current === undefined || !current.delete(serial)) return;
          if (current.size === 0) {
            channels.delete(channel);
            confirmed.delete(channel);
            await s.unsubscribe(channel).catch(() => {});
          }
          await serial.close();
        },
      };
    },
  };
}
