/**
 * The client's publish path (go-micro's `client.Publish(ctx, client.NewMessage(topic, payload))`):
 * encode the payload with the client's codec, put the context's metadata in the headers,
 * hand it to the broker with the caller's signal and remaining deadline.
 */
import { randomUUID } from "node:crypto";
import { HEADER, type MessageHeaders } from "../broker/broker.js";
import { background, type Context, remainingMs } from "../context.js";
import { timeout } from "../errors.js";
import { linkSignal } from "../util/deadline.js";
import type { ClientOptions } from "./options.js";

/** A payload for a topic (go-micro's client.Message). */
export interface Message<T = unknown> {
  readonly topic: string;
  readonly payload: T;
  /** Overrides the client's content type for this message. */
  readonly contentType?: string;
}

/** A message for `client.publish` (go-micro's client.NewMessage). */
export function newMessage<T>(topic: string, payload: T, options: { contentType?: string } = {}): Message<T> {
  return { topic, payload, contentType: options.contentType };
}

/** Options of one `client.publish`. */
export interface PublishCallOptions {
  /** Sent as headers, on top of the context's metadata. */
  metadata?: Record<string, string>;
  /** This publish's own timeout; the caller's remaining deadline still applies (the smaller wins). @default the client's requestTimeoutMs */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function publishMessage(
  o: Readonly<ClientOptions>,
  ctx: Context,
  message: Message,
  opts: PublishCallOptions = {},
): Promise<void> {
  const codec = o.codecs.get(message.contentType ?? o.contentType);
  const headers: MessageHeaders = {};
  for (const [k, v] of Object.entries(ctx.metadata)) headers[k.toLowerCase()] = v;
  if (opts.metadata !== undefined)
    for (const [k, v] of Object.entries(opts.metadata)) headers[k.toLowerCase()] = String(v);
  headers[HEADER.contentType] = codec.contentType;
  headers[HEADER.topic] = message.topic;
  headers[HEADER.id] = randomUUID();
  const body = codec.encode(message.payload);
  const left = remainingMs(ctx);
  if (left <= 0) throw timeout("tsmicro", `publish to "${message.topic}": the caller's deadline has passed`);
  const timeoutMs = Math.min(opts.timeoutMs ?? o.requestTimeoutMs, left);
  if (opts.signal === undefined) {
    // background()'s signal never aborts: leave it out rather than hang a listener on it per publish.
    const signal = ctx.signal === background().signal ? undefined : ctx.signal;
    await o.broker.publish(message.topic, { headers, body }, { signal, timeoutMs });
    return;
  }
  const controller = new AbortController();
  const unlinkCtx = linkSignal(ctx.signal, controller);
  const unlinkOpt = linkSignal(opts.signal, controller);
  try {
    await o.broker.publish(message.topic, { headers, body }, { signal: controller.signal, timeoutMs });
  } finally {
    unlinkCtx();
    unlinkOpt();
  }
}
