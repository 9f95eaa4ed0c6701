/**
 * The client's publish path (go-micro's `client.Publish(ctx, client.NewMessage(topic, payload))`):
 * encode the payload with the client's codec, put the context's metadata in the headers,
 * hand it to the broker with the caller's signal and remaining deadline.
 */
import { randomUUID } from "node:crypto";
import { HEADER, type MessageHeaders } from "../broker/broker.js";
import { background, type Context, remainingMs } from "../context.js";
import { timeout } from "../errors.js";
import type { InflightTable } from "../inflight.js";
import { linkSignal, noop } from "../util/deadline.js";
import type { ClientOptions } from "./options.js";

/** The in-flight record's endpoint for a publish (its service is the topic). */
export const PUBLISH_ENDPOINT = "publish";

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
  inflight: InflightTable | undefined,
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
  // The stall doctor's record: "publishing" until a broker that reaches nodes itself says more.
  const started = Date.now();
  const deadline = started + timeoutMs;
  const record = inflight?.add(
    "client",
    message.topic,
    PUBLISH_ENDPOINT,
    undefined,
    "publishing",
    deadline === Number.POSITIVE_INFINITY ? undefined : deadline,
    ctx.chain,
    started,
  );
  let signal: AbortSignal | undefined;
  let unlinkCtx = noop;
  let unlinkOpt = noop;
  if (opts.signal === undefined) {
    // background()'s signal never aborts: leave it out rather than hang a listener on it per publish.
    signal = ctx.signal === background().signal ? undefined : ctx.signal;
  } else {
    const controller = new AbortController();
    unlinkCtx = linkSignal(ctx.signal, controller);
    unlinkOpt = linkSignal(opts.signal, controller);
    signal = controller.signal;
  }
  try {
    await o.broker.publish(message.topic, { headers, body }, { signal, timeoutMs, inflight: record });
  } finally {
    unlinkCtx();
    unlinkOpt();
    if (record !== undefined) inflight!.delete(record);
  }
}
