/**
 * A service's subscribers (go-micro's `micro.RegisterSubscriber`): each decodes the message
 * with the codec its content type names and calls the handler with a context whose metadata
 * is the message's headers. They subscribe when the service starts and unsubscribe when it stops.
 */
import { type BrokerHandler, HEADER, type SubscribeOptions, type Subscriber } from "../broker/broker.js";
import type { CodecRegistry } from "../codec/codec.js";
import type { Context } from "../context.js";
import { badRequest, serviceUnavailable } from "../errors.js";
import { around, type Middleware, type SubscriberFn } from "../middleware.js";

export type { SubscriberFn } from "../middleware.js";

/** `queue` for a queue group (one member gets each message); the rest as the broker's SubscribeOptions. */
export type ServiceSubscribeOptions = SubscribeOptions;

const NO_CHAIN: readonly string[] = Object.freeze([]);

interface Entry {
  topic: string;
  handler: SubscriberFn;
  options: ServiceSubscribeOptions;
}

export class Subscriptions {
  readonly #service: string;
  readonly #codecs: CodecRegistry;
  readonly #middleware: readonly Middleware[];
  readonly #entries: Entry[] = [];
  #active: Subscriber[] = [];
  // Aborted when the service stops: handlers still running then see ctx.signal abort.
  #stopping = new AbortController();

  constructor(service: string, codecs: CodecRegistry, middleware: readonly Middleware[] = []) {
    this.#service = service;
    this.#codecs = codecs;
    this.#middleware = middleware;
  }

  get size(): number {
    return this.#entries.length;
  }

  add(topic: string, handler: SubscriberFn, options: ServiceSubscribeOptions = {}): void {
    if (typeof handler !== "function") {
      throw new TypeError(`service ${this.#service}: the subscriber for "${topic}" must be a function`);
    }
    this.#entries.push({ topic, handler, options });
  }

  /** The registry description of the subscribers (go-micro lists them as endpoints). */
  endpoints(): { name: string; metadata: Record<string, string> }[] {
    return this.#entries.map((e) => ({
      name: `Subscriber.${e.topic}`,
      metadata: { subscriber: "true", topic: e.topic, queue: e.options.queue ?? "" },
    }));
  }

  /** Subscribes every entry; on a failure unsubscribes the ones already made and throws. */
  async start(broker: {
    subscribe: (t: string, h: BrokerHandler, o?: SubscribeOptions) => Promise<Subscriber>;
  }) {
    this.#stopping = new AbortController();
    try {
      for (const e of this.#entries)
        this.#active.push(await broker.subscribe(e.topic, this.#adapt(e), e.options));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Unsubscribes all: each waits for its running handler; then running handlers are told to stop. */
  async stop(): Promise<void> {
    const active = this.#active;
    this.#active = [];
    await Promise.all(active.map((s) => s.unsubscribe()));
    this.#stopping.abort(serviceUnavailable(this.#service, "the service is stopping"));
  }

  #adapt(e: Entry): BrokerHandler {
    const service = this.#service;
    const handler = around(this.#middleware, "subscriber", e.handler, {
      service,
      topic: e.topic,
      queue: e.options.queue,
    });
    return async (event) => {
      const h = event.message.headers;
      const contentType = h[HEADER.contentType] ?? "application/json";
      const codec = this.#codecs.get(contentType, service);
      let payload: unknown;
      try {
        payload = codec.decode(event.message.body);
      } catch (err) {
        // Not retryable: redelivering the same bytes cannot help, so it goes to the dead-letter topic.
        throw badRequest(
          service,
          `cannot decode a message on "${event.topic}" as ${contentType}: ${(err as Error).message}`,
        );
      }
      // The headers object is this delivery's own (every broker decodes or copies it): no copy.
      const ctx: Context = {
        signal: this.#stopping.signal,
        deadline: undefined,
        metadata: Object.freeze(h),
        chain: NO_CHAIN,
      };
      await handler(ctx, payload, event);
    };
  }
}
