/**
 * The in-process broker (go-micro's memory broker): publish hands the message to every
 * broadcast subscriber and to one member of each queue group (round robin), all in this
 * process. For tests and single-process apps.
 */
import { randomUUID } from "node:crypto";
import type {
  Broker,
  BrokerHandler,
  BrokerMessage,
  BrokerOptions,
  PublishOptions,
  SubscribeOptions,
  Subscriber,
} from "./broker.js";
import { checkMessage, checkTopic, errorSink, notConnected, resolveSubscribeOptions } from "./options.js";
import { SerialSubscription } from "./serial.js";

export type MemoryBrokerOptions = BrokerOptions;

interface Entry {
  id: string;
  queue: string | undefined;
  sub: SerialSubscription;
}

/** A broker inside this process, for tests and single-process apps. */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): Broker {
  const name = "memory";
  const onError = errorSink(options);
  const topics = new Map<string, Entry[]>();
  const turns = new Map<string, number>(); // round-robin position per topic + group
  let state: "new" | "connected" | "disconnected" = "new";

  const publish = async (topic: string, message: BrokerMessage, opts?: PublishOptions): Promise<void> => {
    checkTopic(topic, name);
    checkMessage(message, name, topic);
    if (state === "disconnected") throw notConnected(name, `publish to "${topic}"`);
    if (opts?.signal?.aborted) throw opts.signal.reason;
    // Copies: the publisher may reuse its buffers; subscribers must not see that.
    const copy = (): BrokerMessage => ({
      headers: { ...message.headers },
      body: Uint8Array.from(message.body),
    });
    const groups = new Map<string, Entry[]>();
    for (const e of topics.get(topic) ?? []) {
      if (e.queue === undefined) e.sub.push(copy());
      else groups.set(e.queue, [...(groups.get(e.queue) ?? []), e]);
    }
    for (const [queue, members] of groups) {
      const key = `${topic}\u0000${queue}`;
      const turn = turns.get(key) ?? 0;
      turns.set(key, turn + 1);
      members[turn % members.length]!.sub.push(copy());
    }
  };

  const remove = (topic: string, entry: Entry) => {
    const list = (topics.get(topic) ?? []).filter((e) => e !== entry);
    if (list.length === 0) topics.delete(topic);
    else topics.set(topic, list);
  };

  return {
    name,
    async connect() {
      state = "connected";
    },
    async disconnect() {
      if (state === "disconnected") return;
      state = "disconnected";
      const all = [...topics.entries()];
      topics.clear();
      await Promise.all(all.flatMap(([, list]) => list.map((e) => e.sub.close())));
    },
    publish,
    async subscribe(topic: string, handler: BrokerHandler, opts?: SubscribeOptions): Promise<Subscriber> {
      const resolved = resolveSubscribeOptions(topic, opts, name);
      if (state === "disconnected") throw notConnected(name, `subscribe to "${topic}"`);
      state = "connected";
      const entry: Entry = {
        id: randomUUID(),
        queue: resolved.queue,
        sub: new SerialSubscription(topic, { options: resolved, handler, publish, onError, broker: name }),
      };
      topics.set(topic, [...(topics.get(topic) ?? []), entry]);
      return {
        topic,
        queue: resolved.queue,
        async unsubscribe() {
          remove(topic, entry);
          await entry.sub.close();
        },
      };
    },
  };
}
