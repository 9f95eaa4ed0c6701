/**
 * The JetStream broker: at-least-once. A publish resolves once JetStream has stored the
 * message (PubAck); a queue group is a durable pull consumer that keeps its place while no
 * member runs; a broadcast subscription is a consumer of its own, removed after it goes idle.
 * Every delivery is acked explicitly; a message not acked within `ackWaitMs` (its subscriber
 * died) is delivered again, and the delivery count JetStream keeps is `event.attempt`.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  StorageType,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/transport-node";
import type { Broker } from "tsmicro";
import {
  type BrokerHandler,
  type BrokerOptions,
  deliver,
  errorSink,
  HEADER,
  type BrokerMessage as Message,
  notConnected,
  type PublishOptions,
  publishWithRetry,
  resolveSubscribeOptions,
  type SubscribeOptions,
  type Subscriber,
  startInterval,
  stopInterval,
} from "tsmicro/plugin";
import { ConnectionState, fromNatsHeaders, openConnection, toNatsHeaders } from "./broker-connection.js";
import { type NatsConnectionOptions, natsConnectionHandle } from "./connection.js";
import { resolveJetStreamBrokerOptions } from "./options.js";

export interface JetStreamBrokerOptions extends BrokerOptions, NatsConnectionOptions {
  /** Name of the stream created for a topic that no existing stream captures. @default `TSMICRO_<topic>_<hash>` */
  streamName?: (topic: string) => string;
  /** Age after which streams this broker creates drop messages: whole milliseconds ≥ 1, or `Infinity` for no limit. @default 604800000 (7 days) */
  maxAgeMs?: number;
  /** A delivery not acked within this many ms (its subscriber died) is delivered again; long handlers extend it. A whole number ≥ 1, finite. @default 30000 */
  ackWaitMs?: number;
  /** Messages a subscription fetches ahead. @default 256 */
  prefetch?: number;
  /** A broadcast subscription's consumer is removed this many ms after its subscriber is gone. A whole number ≥ 1, finite. @default 60000 */
  inactiveThresholdMs?: number;
  /** Window in which a repeated message id (`micro-id`) is stored once; whole milliseconds ≥ 1, capped at `maxAgeMs`. @default 120000 */
  duplicateWindowMs?: number;
}

export { DEFAULT_JETSTREAM_BROKER_OPTIONS } from "./options.js";

/** The stream name the JetStream broker gives a topic (letters, digits, _ and - only). */
export function defaultStreamName(topic: string): string {
  const safe = topic.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 100);
  return `TSMICRO_${safe}_${hash(topic)}`;
}

function hash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 8);
}

interface Active {
  messages: ConsumerMessages;
  done: Promise<void>;
}

export function createJetStreamBroker(given: JetStreamBrokerOptions = {}): Broker {
  const options = resolveJetStreamBrokerOptions(given);
  const o = options;
  const streamName = options.streamName ?? defaultStreamName;
  let handle = natsConnectionHandle(options);
  const name = `jetstream (${handle.servers})`;
  const onError = errorSink(options);
  const active = new Set<Active>();
  const streams = new Map<string, Promise<string>>();
  let api:
    | { nc: NatsConnection; js: JetStreamClient; jsm: Promise<JetStreamManager>; state: ConnectionState }
    | undefined;
  let closed = false;

  const conn = async (signal?: AbortSignal) => {
    const nc = await openConnection(() => handle.get(), signal, name);
    if (api?.nc !== nc) {
      api = { nc, js: jetstream(nc), jsm: jetstreamManager(nc), state: new ConnectionState(nc) };
      api.jsm.catch(() => {});
    }
    return api;
  };

  // The stream that captures `topic`: an existing one, else one created for it.
  const ensureStream = (topic: string): Promise<string> => {
    let p = streams.get(topic);
    if (p === undefined) {
      p = (async () => {
        const jsm = await (await conn()).jsm;
        try {
          return await jsm.streams.find(topic);
        } catch {
          const stream = streamName(topic);
          try {
            await jsm.streams.add({
              name: stream,
              subjects: [topic],
              storage: StorageType.File,
              max_age: o.maxAgeMs === Number.POSITIVE_INFINITY ? 0 : nanos(o.maxAgeMs),
              duplicate_window: nanos(Math.min(o.duplicateWindowMs, o.maxAgeMs)),
            });
          } catch (err) {
            // Another process created it first: fine, it captures the topic now.
            return await jsm.streams.find(topic).catch(() => {
              throw err;
            });
          }
          return stream;
        }
      })();
      p.catch(() => streams.delete(topic));
      streams.set(topic, p);
    }
    return p;
  };

  // Retried with the same message id until the deadline: JetStream stores it once.
  const publish = (topic: string, message: Message, opts?: PublishOptions): Promise<void> => {
    const msgID = message.headers?.[HEADER.id] ?? randomUUID();
    return publishWithRetry({ broker: name, topic, message, options: opts, closed }, async (n, deadline) => {
      let a = api;
      if (a === undefined || !a.state.up) {
        deadline.setPhase("connecting to NATS");
        a = await conn(deadline.signal);
        deadline.setPhase("waiting for NATS to reconnect");
        await a.state.wait(deadline.signal);
      }
      deadline.setPhase("finding the topic's stream");
      await ensureStream(topic);
      deadline.setPhase(`waiting for JetStream to store it (attempt ${n})`);
      try {
        await a.js.publish(topic, message.body, {
          headers: toNatsHeaders(message.headers),
          msgID,
          timeout: Math.max(1, Math.min(2000, deadline.remainingMs())),
        });
      } catch (err) {
        // The stream was deleted meanwhile: look it up (or make it) again on the next try.
        if (/no responders|no stream/i.test((err as Error).message)) streams.delete(topic);
        throw err;
      }
    });
  };

  const consumerConfig = (topic: string, queue: string | undefined): Partial<ConsumerConfig> => {
    const common: Partial<ConsumerConfig> = {
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: topic,
      ack_wait: nanos(o.ackWaitMs),
      max_deliver: -1, // the limit is tsmicro's (maxDeliver → dead-letter topic), not a silent drop
      max_ack_pending: Math.max(o.prefetch * 4, 1000),
    };
    if (queue !== undefined) {
      return {
        ...common,
        durable_name: `${queue}-${hash(topic)}`,
        description: `tsmicro group ${queue} on ${topic}`,
      };
    }
    return {
      ...common,
      name: `b-${randomUUID()}`,
      inactive_threshold: nanos(o.inactiveThresholdMs),
      description: `tsmicro broadcast subscriber on ${topic}`,
    };
  };

  return {
    name,
    async connect() {
      closed = false;
      await conn();
    },
    async disconnect() {
      if (closed) return;
      closed = true;
      const all = [...active];
      active.clear();
      for (const a of all) a.messages.stop();
      await Promise.all(all.map((a) => a.done));
      api?.state.stop();
      api = undefined;
      streams.clear();
      const old = handle;
      handle = natsConnectionHandle(options);
      await old.close();
    },
    publish,
    async subscribe(topic: string, handler: BrokerHandler, opts?: SubscribeOptions): Promise<Subscriber> {
      const resolved = resolveSubscribeOptions(topic, opts, name);
      if (closed) throw notConnected(name, `subscribe to "${topic}"`);
      const a = await conn();
      const stream = await ensureStream(topic);
      const jsm = await a.jsm;
      const config = consumerConfig(topic, resolved.queue);
      const consumerName = (config.durable_name ?? config.name)!;
      const existing =
        resolved.queue === undefined
          ? undefined
          : await jsm.consumers.info(stream, consumerName).catch(() => undefined);
      if (existing === undefined) await jsm.consumers.add(stream, config);
      const consumer = await a.js.consumers.get(stream, consumerName);
      // Pull requests expire before a delivery's ack wait does: a request left by a subscriber that
      // died is gone before JetStream redelivers, so the redelivery reaches a live member and is counted.
      const messages = await consumer.consume({
        max_messages: o.prefetch,
        expires: Math.min(30_000, Math.max(1000, o.ackWaitMs / 2)),
      });
      const ctx = { options: resolved, handler, publish, onError, broker: name };
      const working = keepAlive(o.ackWaitMs);
      const done = (async () => {
        for await (const m of messages) {
          working.handling(m);
          await deliver(
            {
              topic,
              message: { headers: fromNatsHeaders(m.headers), body: m.data },
              attempt: m.info.deliveryCount,
            },
            ctx,
            {
              durable: true,
              ack: async () => m.ack(),
              retry: async (_attempt, delayMs) => m.nak(delayMs),
            },
          );
          working.handling(undefined);
        }
      })()
        .catch((err: Error) => {
          onError(new Error(`broker ${name}: subscription to "${topic}" ended: ${err.message}`));
        })
        .finally(() => working.stop());
      const entry: Active = { messages, done };
      active.add(entry);
      return {
        topic,
        queue: resolved.queue,
        async unsubscribe() {
          if (!active.delete(entry)) return;
          messages.stop();
          await done;
          // A broadcast consumer is this subscriber's alone; a group's durable consumer stays.
          if (resolved.queue === undefined) await jsm.consumers.delete(stream, consumerName).catch(() => {});
        },
      };
    },
  };
}

/**
 * While a handler runs longer than half the ack wait, tell JetStream it is still working on
 * its message, so it is not delivered again meanwhile. One timer per subscription, not one
 * per message.
 */
function keepAlive(ackWaitMs: number) {
  const every = Math.max(100, ackWaitMs / 2);
  let current: { m: JsMsg; since: number } | undefined;
  const timer = startInterval(
    () => {
      if (current !== undefined && Date.now() - current.since >= every) {
        current.m.working();
        current.since = Date.now();
      }
    },
    Math.max(50, every / 2),
    true,
  );
  return {
    handling(m: JsMsg | undefined) {
      current = m === undefined ? undefined : { m, since: Date.now() };
    },
    stop() {
      stopInterval(timer);
    },
  };
}
