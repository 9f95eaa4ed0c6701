/**
 * One RabbitMQ subscription: its queue bound to the topic, a channel with a prefetch, and the
 * deliveries handled one at a time in arrival order. Made again on every reconnect; a
 * delivery from a channel that has closed is skipped (RabbitMQ delivers it again).
 */
import { randomUUID } from "node:crypto";
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import {
  type BrokerHandler,
  deliver,
  type BrokerMessage as Message,
  type ResolvedSubscribeOptions,
  startTimer,
} from "tsmicro/plugin";
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
  /** Prefix of a broadcast subscription's exclusive queue name. */
  broadcastPrefix: string;
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
  #generation = 0;

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

  /**
   * Subscribes again on a new connection, retrying with back-off while it fails (a node that has
   * just restarted can refuse a declaration for a moment).
   * Stops when unsubscribed or when a newer connection takes over.
   */
  async #resetup(model: ChannelModel): Promise<void> {
    const generation = ++this.#generation;
    for (let attempt = 1; !this.#stopped && generation === this.#generation; attempt++) {
      try {
        await this.#setup(model);
        return;
      } catch (err) {
        if (attempt === 1 || attempt % 10 === 0) {
          this.#o.onError(
            new Error(
              `broker ${this.#o.broker}: resubscribing to "${this.#o.topic}" (attempt ${attempt}, retrying): ${(err as Error).message}`,
            ),
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * attempt)));
        if (!this.#o.link.connected) return; // the next connection starts its own resubscription
        model = await this.#o.link.model(AbortSignal.timeout(10_000), this.#o.broker).catch(() => model);
      }
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
    // Rejected deliveries are dead-lettered straight back to the same queue: RabbitMQ counts
    // each one in the x-death header (the delivery count survives processes, atomically).
    const q = o.queue ?? `${o.broadcastPrefix}${randomUUID()}`;
    const back = { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q };
    if (o.queue === undefined) {
      await ch.assertQueue(q, { exclusive: true, autoDelete: true, durable: false, arguments: back });
    } else {
      await ch.assertQueue(q, { durable: true, arguments: back });
    }
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
    const raw = msg.properties.headers ?? {};
    const reject = () => {
      if (this.#open.has(ch)) ch.nack(msg, false, false); // back to this queue, counted
    };
    if (msg.fields.redelivered) {
      // Delivered before with no verdict (its subscriber died or lost its connection): RabbitMQ
      // does not count that, so count it by rejecting it to itself; the counted message comes
      // back, and past maxDeliver deliver() dead-letters it instead of running the handler.
      reject();
      return;
    }
    const message: Message = { headers: fromAmqpHeaders(raw), body: msg.content };
    await deliver(
      { topic: o.topic, message, attempt: deaths(raw, queue) + 1 },
      { options: o.options, handler: o.handler, publish: o.publish, onError: o.onError, broker: o.broker },
      {
        durable: true,
        ack: async () => {
          if (this.#open.has(ch)) ch.ack(msg);
        },
        retry: async (_attempt, delayMs) => {
          await new Promise((r) => startTimer(() => r(undefined), delayMs));
          reject();
        },
      },
    );
  }
}

/** How many times this message was rejected back to `queue` (RabbitMQ's x-death count). */
function deaths(headers: Record<string, unknown>, queue: string): number {
  const xDeath = headers["x-death"];
  if (!Array.isArray(xDeath)) return 0;
  let n = 0;
  for (const d of xDeath as { queue?: unknown; reason?: unknown; count?: unknown }[]) {
    if (d?.queue === queue && d.reason === "rejected") n += Number(d.count ?? 0);
  }
  return n;
}

/** RabbitMQ's own bookkeeping headers are not the message's. */
const AMQP_HEADERS = new Set([
  "x-death",
  "x-first-death-exchange",
  "x-first-death-queue",
  "x-first-death-reason",
  "x-delivery-count",
]);

function fromAmqpHeaders(h: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined || v === null || AMQP_HEADERS.has(k.toLowerCase())) continue;
    out[k.toLowerCase()] = Buffer.isBuffer(v) ? v.toString("utf8") : String(v);
  }
  return out;
}
