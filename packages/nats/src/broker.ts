/**
 * The core NATS broker: topics are subjects, queue groups are NATS queue groups; the payload is
 * tsmicro's message frame (headers + body). Fire-and-forget (NATS keeps no copy): a message
 * reaches the subscribers connected when it is published. The client reconnects by itself and resubscribes; a publish while it is
 * reconnecting waits for it, bounded by the publish's timeout and signal.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Broker } from "tsmicro";
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
import { ConnectionState, openConnection } from "./broker-connection.js";
import { type NatsConnectionOptions, natsConnectionHandle } from "./connection.js";
import { resolveNatsBrokerOptions } from "./options.js";

/** How a message is laid out in a NATS payload. */
export interface NatsMessageFormat {
  encode(topic: string, message: Message): Uint8Array;
  /** Throws on a payload that is not a message in this format (reported to `onError`, dropped). */
  decode(payload: Buffer): Message;
}

/** tsmicro's message frame (headers + body in one payload). */
export const tsmicroNatsMessageFormat: NatsMessageFormat = {
  encode: encodeMessageFrame,
  decode: (payload) => decodeMessageFrame(payload).message,
};

export type NatsBrokerOptions = BrokerOptions &
  NatsConnectionOptions & {
    /** The payload layout (another framework's, to share its topics). @default tsmicro's message frame */
    format?: NatsMessageFormat;
  };

export function createNatsBroker(given: NatsBrokerOptions = {}): Broker {
  const options = resolveNatsBrokerOptions(given);
  let handle = natsConnectionHandle(options);
  const name = `nats (${handle.servers})`;
  const format = options.format ?? tsmicroNatsMessageFormat;
  const onError = errorSink(options);
  const active = new Set<{ nsub: Subscription; sub: SerialSubscription }>();
  let state: ConnectionState | undefined;
  let current: NatsConnection | undefined;
  let closed = false;

  const conn = async (signal?: AbortSignal): Promise<NatsConnection> => {
    const nc = await openConnection(() => handle.get(), signal, name);
    state ??= new ConnectionState(nc);
    current = nc;
    return nc;
  };

  // Fire-and-forget: nothing to retry once it is written, so one attempt.
  const publish = (topic: string, message: Message, opts?: PublishOptions): Promise<void> =>
    publishWithRetry(
      { broker: name, topic, message, options: opts, closed },
      async (_n, deadline) => {
        let nc = current;
        if (nc === undefined || !state?.up) {
          // Only a publish that has to wait pays for the deadline's timer.
          deadline.setPhase("connecting to NATS");
          nc = await conn(deadline.signal);
          deadline.setPhase("waiting for NATS to reconnect");
          await state!.wait(deadline.signal);
        }
        // Headers and body in one payload frame, as go-micro's NATS broker marshals the whole
        // message: cheaper than NATS headers, which nats.js validates and canonicalizes per key.
        nc.publish(topic, format.encode(topic, message));
      },
      false,
    );

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
      for (const a of all) a.nsub.unsubscribe();
      await Promise.all(all.map((a) => a.sub.close()));
      state?.stop();
      state = undefined;
      current = undefined;
      const old = handle;
      handle = natsConnectionHandle(options); // for a later connect()
      await old.close();
    },
    publish,
    async subscribe(topic: string, handler: BrokerHandler, opts?: SubscribeOptions): Promise<Subscriber> {
      const resolved = resolveSubscribeOptions(topic, opts, name);
      if (closed) throw notConnected(name, `subscribe to "${topic}"`);
      const nc = await conn();
      const sub = new SerialSubscription(topic, {
        options: resolved,
        handler,
        publish,
        onError,
        broker: name,
      });
      const nsub = nc.subscribe(topic, {
        ...(resolved.queue === undefined ? {} : { queue: resolved.queue }),
        callback: (err, m) => {
          if (err !== null) {
            onError(new Error(`broker ${name}: subscription to "${topic}" failed: ${err.message}`));
            return;
          }
          let message: Message;
          try {
            message = format.decode(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
          } catch (e) {
            onError(
              new Error(`broker ${name}: a message on "${topic}" does not decode: ${(e as Error).message}`),
            );
            return;
          }
          sub.push(message);
        },
      });
      // The server knows of the subscription once this round trip returns: publishes after
      // subscribe() resolves reach it.
      await nc.flush();
      const entry = { nsub, sub };
      active.add(entry);
      return {
        topic,
        queue: resolved.queue,
        async unsubscribe() {
          if (!active.delete(entry)) return;
          nsub.unsubscribe();
          await sub.close();
        },
      };
    },
  };
}
