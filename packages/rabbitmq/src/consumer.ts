/**
 * One RabbitMQ subscription: its queue bound to the topic, a channel with a prefetch, and the
 * deliveries handled one at a time in arrival order. Made again on every reconnect; a
 * delivery from a channel that has closed is skipped (RabbitMQ delivers it again).
 */
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import {
  type BrokerHandler,
  deadLetterMessage,
  deliver,
  HEADER,
  type BrokerMessage as Message,
  type ResolvedSubscribeOptions,
} from "tsmicro";
import type { Link } from "./link.js";

export interface ConsumerOptions {
  link: Link;
  broker: string;
  topic: string;
  options: ResolvedSubscribeOptions;
  handler: BrokerHandler;
  exchange: string;
  /** The group's durable queue; undefined for broadcast (an exclusive queue per connection). */
  queue: string | undefined;
  /** A durable queue that keeps the dead-letter topic's messages. */
  keepDeadLetters: string | undefined;
  prefetch: number;
  publish: (topic: string, message: Message) => Promise<void>;
  /** Publishes straight to one queue (for redeliveries with their count). */
  requeue: (queue: string, message: Message) => Promise<void>;
  onError: (e: Error) => void;
}

interface Item {
  ch: Channel;
  queue: string;
  msg: ConsumeMessage;
}

export class Consumer {
  readonly #o: ConsumerOptions;
  readonly #open = new WeakSet<Channel>();
  #items: Item[] = [];
  #running: Promise<void> | undefined;
  #ch: Channel | undefined;
  #tag: string | undefined;
  #stopped = false;
  #unlisten: (() => void) | undefined;

  constructor(options: ConsumerOptions) {
    this.#o = options;
  }

  async start(signal: AbortSignal): Promise<void> {
    const model = await this.#o.link.model(signal, this.#o.broker);
    await this.#setup(model);
    this.#unlisten = this.#o.link.onConnect((m) => void this.#resetup(m));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unlisten?.();
    const ch = this.#ch;
    if (ch !== undefined && this.#tag !== undefined && this.#open.has(ch))
      await ch.cancel(this.#tag).catch(() => {});
    await this.#running;
    // Deliveries not handled yet go back to the queue when the channel closes.
    if (ch !== undefined) await ch.close().catch(() => {});
  }

  async #resetup(model: ChannelModel): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#setup(model);
    } catch (err) {
      this.#o.onError(
        new Error(`broker ${this.#o.broker}: resubscribing to "${this.#o.topic}": ${(err as Error).message}`),
      );
    }
  }

  async #setup(model: ChannelModel): Promise<void> {
    const o = this.#o;
    const ch = await model.createChannel();
    this.#open.add(ch);
    ch.on("error", () => {});
    ch.on("close", () => {
      this.#open.delete(ch);
      // A channel error (not a lost connection): open a new channel on the same connection.
      if (!this.#stopped && this.#ch === ch && o.link.connected) {
        void o.link.model(AbortSignal.timeout(10_000), o.broker).then(
          (m) => this.#resetup(m),
          () => {},
        );
      }
    });
    await ch.prefetch(o.prefetch);
    await ch.assertExchange(o.exchange, "topic", { durable: true });
    const q =
      o.queue === undefined
        ? (await ch.assertQueue("", { exclusive: true, autoDelete: true, durable: false })).queue
        : (await ch.assertQueue(o.queue, { durable: true })).queue;
    await ch.bindQueue(q, o.exchange, o.topic);
    if (o.keepDeadLetters !== undefined && o.options.deadLetterTopic !== false) {
      await ch.assertQueue(o.keepDeadLetters, { durable: true });
      await ch.bindQueue(o.keepDeadLetters, o.exchange, o.options.deadLetterTopic);
    }
    this.#ch = ch;
    const { consumerTag } = await ch.consume(
      q,
      (msg) => {
        if (msg === null) return; // cancelled by the server (queue deleted): a reconnect re-declares it
        this.#items.push({ ch, queue: q, msg });
        this.#running ??= this.#run();
      },
      { noAck: false },
    );
    this.#tag = consumerTag;
  }

  async #run(): Promise<void> {
    for (let item = this.#items.shift(); item !== undefined; item = this.#items.shift()) {
      if (this.#stopped) break;
      if (!this.#open.has(item.ch)) continue; // its channel closed: RabbitMQ redelivers it
      try {
        await this.#handle(item);
      } catch (err) {
        this.#o.onError(
          new Error(
            `broker ${this.#o.broker}: handling a message on "${this.#o.topic}": ${(err as Error).message}`,
          ),
        );
      }
    }
    this.#items = this.#stopped ? [] : this.#items;
    this.#running = undefined;
  }

  async #handle({ ch, queue, msg }: Item): Promise<void> {
    const o = this.#o;
    const headers = fromAmqpHeaders(msg.properties.headers);
    const counted = Number(headers[HEADER.attempt] ?? 1);
    const message: Message = { headers, body: msg.content };
    const ack = async () => {
      if (this.#open.has(ch)) ch.ack(msg);
    };
    if (msg.fields.redelivered) {
      // Delivered before without an ack (a subscriber died or lost its connection). Count it:
      // re-queue a copy carrying the count, or dead-letter it once the count is used up.
      const attempt = counted + 1;
      if (attempt > o.options.maxDeliver && o.options.deadLetterTopic !== false) {
        await o.publish(
          o.options.deadLetterTopic,
          deadLetterMessage(
            { topic: o.topic, message, attempt: attempt - 1 },
            "delivered without an acknowledgement until maxDeliver (the subscriber kept dying or losing its connection)",
          ),
        );
      } else {
        await o.requeue(queue, {
          headers: { ...headers, [HEADER.attempt]: String(attempt) },
          body: msg.content,
        });
      }
      await ack();
      return;
    }
    await deliver(
      { topic: o.topic, message, attempt: counted },
      { options: o.options, handler: o.handler, publish: o.publish, onError: o.onError, broker: o.broker },
      {
        durable: true,
        ack,
        retry: async (attempt, delayMs) => {
          await new Promise((r) => setTimeout(r, delayMs));
          // The copy goes to this queue only (not to other groups), then the original is acked.
          await o.requeue(queue, {
            headers: { ...headers, [HEADER.attempt]: String(attempt) },
            body: msg.content,
          });
          await ack();
        },
      },
    );
  }
}

function fromAmqpHeaders(h: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined || v === null) continue;
    out[k.toLowerCase()] = Buffer.isBuffer(v) ? v.toString("utf8") : String(v);
  }
  return out;
}
