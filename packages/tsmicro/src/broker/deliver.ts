/**
 * One delivery, the same on every broker: run the handler, then ack, deliver again, or send
 * the message to the dead-letter topic once it has failed `maxDeliver` times. Brokers supply
 * the engine's side of each outcome (`Settle`); the rules live here only.
 */
import { MicroError } from "../errors.js";
import { type BrokerHandler, type BrokerMessage, type Event, HEADER } from "./broker.js";
import type { ResolvedSubscribeOptions } from "./options.js";

/** The engine's side of settling one delivery. */
export interface Settle {
  /** Messages survive this process (the engine redelivers what was never acked). */
  readonly durable: boolean;
  ack(): Promise<void>;
  /** Deliver the message again, as delivery number `attempt`, after `delayMs`. */
  retry(attempt: number, delayMs: number): Promise<void>;
}

export interface Delivery {
  topic: string;
  message: BrokerMessage;
  attempt: number;
}

export interface DeliverContext {
  options: ResolvedSubscribeOptions;
  handler: BrokerHandler;
  /** The broker's own publish, for dead letters. */
  publish: (topic: string, message: BrokerMessage) => Promise<void>;
  onError: (error: Error) => void;
  broker: string;
}

/**
 * Runs the handler for one delivery and settles it. Resolves once the handler has returned
 * and its verdict (if any) was carried out; with `autoAck: false` and no verdict yet, the
 * event stays open for the handler to settle later.
 */
export async function deliver(d: Delivery, ctx: DeliverContext, settle: Settle): Promise<void> {
  if (d.attempt > ctx.options.maxDeliver) {
    // Deliveries that ended with no verdict at all (the subscriber died mid-handler) count
    // too: a message that keeps killing its subscriber goes to the dead-letter topic.
    const why = `delivered ${d.attempt - 1} times without an ack or a nack (its subscriber died or lost its connection while handling it)`;
    await reject({ ...d, attempt: d.attempt - 1 }, ctx, settle, new Error(why)).catch((err: unknown) => {
      ctx.onError(MicroError.from(err));
    });
    return;
  }
  let settled: Promise<void> | undefined;
  const finish = (verdict: () => Promise<void>) => {
    settled ??= verdict().catch((err: unknown) => {
      ctx.onError(
        MicroError.from(err).with({
          detail: `broker ${ctx.broker}: settling a message on "${d.topic}" failed: ${(err as Error)?.message ?? err}`,
        }),
      );
    });
    return settled;
  };
  const event: Event = {
    topic: d.topic,
    message: d.message,
    attempt: d.attempt,
    ack: () => finish(() => settle.ack()),
    nack: () => finish(() => reject(d, ctx, settle, new Error("nacked by the handler"))),
  };
  try {
    await ctx.handler(event);
    if (ctx.options.autoAck) await event.ack();
  } catch (err) {
    await finish(() => reject(d, ctx, settle, err));
  }
  await settled;
}

/** Redeliver, or dead-letter after `maxDeliver` deliveries or an error retrying cannot fix. */
async function reject(d: Delivery, ctx: DeliverContext, settle: Settle, reason: unknown): Promise<void> {
  const { maxDeliver, deadLetterTopic, retryDelayMs } = ctx.options;
  if (d.attempt < maxDeliver && !isPermanent(reason)) {
    await settle.retry(d.attempt + 1, retryDelayMs);
    return;
  }
  const why = reason instanceof Error ? reason.message : String(reason);
  if (deadLetterTopic === false) {
    ctx.onError(
      new MicroError({
        id: "tsmicro",
        code: 500,
        detail: `broker ${ctx.broker}: dropped a message on "${d.topic}" after ${d.attempt} deliveries (no dead-letter topic): ${why}`,
      }),
    );
    await settle.ack();
    return;
  }
  try {
    await ctx.publish(deadLetterTopic, deadLetterMessage(d, why));
  } catch (err) {
    ctx.onError(
      new MicroError({
        id: "tsmicro",
        code: 503,
        detail: `broker ${ctx.broker}: could not move a message on "${d.topic}" to dead-letter topic "${deadLetterTopic}": ${(err as Error).message}${settle.durable ? "; it will be delivered again" : "; it is lost"}`,
        cause: err,
      }),
    );
    // A durable engine keeps the message: deliver it once more, which tries the dead letter again.
    if (settle.durable) await settle.retry(d.attempt, retryDelayMs);
    return;
  }
  await settle.ack();
}

/** Bad input (a 4xx MicroError the handler marked not retryable) gets no second try. */
function isPermanent(err: unknown): boolean {
  return err instanceof MicroError && err.code >= 400 && err.code < 500 && !err.retryable;
}

/** The dead letter of a delivery: its headers and body, plus where it came from, why, and after how many deliveries. */
export function deadLetterMessage(d: Delivery, reason: string): BrokerMessage {
  return {
    headers: {
      ...d.message.headers,
      [HEADER.deadLetterTopic]: d.topic,
      // One line: some engines (NATS) carry headers as text lines.
      [HEADER.deadLetterReason]: reason.replace(/[\r\n]+/g, " ").slice(0, 1000),
      [HEADER.attempt]: String(d.attempt),
    },
    body: d.message.body,
  };
}
