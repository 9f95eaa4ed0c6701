/**
 * A subscription that handles its messages one at a time, in arrival order, in this process:
 * the receiving end of the memory, HTTP and core NATS brokers. Redelivery of a failed message
 * happens here (the engine keeps no copy), before the next message is taken.
 */
import { MicroError } from "../errors.js";
import { startTimer, stopTimer } from "../util/deadline.js";
import type { BrokerMessage } from "./broker.js";
import { type DeliverContext, deliver } from "./deliver.js";

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

export class SerialSubscription {
  readonly topic: string;
  readonly #ctx: DeliverContext;
  readonly #queue: { message: BrokerMessage; attempt: number }[] = [];
  #running: Promise<void> | undefined;
  #closed = false;
  /** close() stopped waiting for the drain: nothing may be delivered again. */
  #abandoned = false;
  #waiters: (() => void)[] = [];

  constructor(topic: string, ctx: DeliverContext) {
    this.topic = topic;
    this.#ctx = ctx;
  }

  /** Messages accepted and not yet handled (including the one being handled). */
  get pending(): number {
    return this.#queue.length + (this.#running === undefined ? 0 : 1);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Accepts a message; false once the subscription is closed. */
  push(message: BrokerMessage): boolean {
    if (this.#closed) return false;
    this.#queue.push({ message, attempt: 1 });
    this.#running ??= this.#run();
    return true;
  }

  /** Resolves once fewer than `n` messages are pending (backpressure for the receiving side). */
  async below(n: number): Promise<void> {
    while (this.pending >= n && !this.#closed) await new Promise<void>((r) => this.#waiters.push(r));
  }

  /** Takes no more messages and handles the accepted ones, for at most `timeoutMs`. */
  async close(timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
    this.#closed = true;
    this.#wake();
    if (this.#running === undefined) return;
    let timer: ReturnType<typeof startTimer>;
    const drained = await Promise.race([
      this.#running.then(() => true),
      new Promise<boolean>((r) => {
        timer = startTimer(() => r(false), timeoutMs);
      }),
    ]);
    stopTimer(timer);
    if (!drained) {
      this.#abandoned = true;
      const left = this.#queue.length;
      this.#queue.length = 0;
      this.#ctx.onError(
        new MicroError({
          id: "tsmicro",
          code: 503,
          detail: `broker ${this.#ctx.broker}: unsubscribed from "${this.topic}" with a handler still running after ${timeoutMs} ms; ${left} accepted message(s) not handled`,
        }),
      );
    }
  }

  async #run(): Promise<void> {
    for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) {
      let next: { attempt: number; delayMs: number } | undefined;
      let returned = false;
      const current = item;
      await deliver({ topic: this.topic, message: current.message, attempt: current.attempt }, this.#ctx, {
        durable: false,
        ack: async () => {},
        retry: async (attempt, delayMs) => {
          if (!returned) next = { attempt, delayMs };
          else this.#later(current.message, attempt, delayMs); // a manual nack after the handler returned
        },
      });
      returned = true;
      if (next !== undefined) {
        await new Promise((r) => startTimer(() => r(undefined), next!.delayMs));
        if (this.#abandoned) {
          this.#notAgain("that failed", "gave up waiting");
          break;
        }
        // Redelivered before anything newer: a failing message keeps its place.
        this.#queue.unshift({ message: current.message, attempt: next.attempt });
      }
      this.#wake();
    }
    this.#running = undefined;
    this.#wake();
  }

  #later(message: BrokerMessage, attempt: number, delayMs: number): void {
    startTimer(() => {
      if (this.#closed) {
        this.#notAgain("nacked", "");
        return;
      }
      this.#queue.unshift({ message, attempt });
      this.#running ??= this.#run();
    }, delayMs);
  }

  #notAgain(what: string, when: string): void {
    this.#ctx.onError(
      new MicroError({
        id: "tsmicro",
        code: 503,
        detail: `broker ${this.#ctx.broker}: a message ${what} on "${this.topic}" after unsubscribe ${when ? `${when} ` : ""}is not delivered again`,
      }),
    );
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }
}
