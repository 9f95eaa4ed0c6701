/**
 * One middleware model for the five paths a message takes (go-micro's call, stream, publish,
 * handler and subscriber wrappers; Moleculer's middleware hooks): a middleware is an object
 * with an optional wrapper per path, registered once on a client (`middleware`: call, stream,
 * publish) or a service (`middleware`: handler, subscriber, and its own client's three), so
 * auth or tracing is written once and sees everything. Each hook is `(next) => next'`; the
 * first middleware in the list is the outermost, and middleware runs outside `wrappers`.
 */
import type { Event } from "./broker/broker.js";
import type { Stream } from "./client/client-stream.js";
import type { CallOptions, CallWrapper } from "./client/options.js";
import type { Message, PublishCallOptions } from "./client/publish.js";
import type { Request } from "./client/request.js";
import type { Context } from "./context.js";
import type { HandlerWrapper } from "./server/invoke.js";

/** A subscriber: the decoded payload, with the raw event for manual `ack()`/`nack()`. */
export type SubscriberFn<T = any> = (ctx: Context, payload: T, event: Event) => void | Promise<void>;

/** Opening a client stream, as stream middleware sees it. */
export type StreamFn = (ctx: Context, request: Request, options: CallOptions) => Promise<Stream>;
/** Publishing a message, as publish middleware sees it. */
export type PublishFn = (ctx: Context, message: Message, options: PublishCallOptions) => Promise<void>;

/** Which subscription a subscriber hook wraps (what a rule or a log line names it by). */
export interface SubscriberInfo {
  /** The service that subscribes. */
  readonly service: string;
  readonly topic: string;
  /** The queue group, or undefined for a broadcast subscription. */
  readonly queue: string | undefined;
}

/** Hooks for each path; all optional. */
export interface Middleware {
  /** For messages about the middleware (its name in logs). */
  readonly name?: string;
  /** Unary calls made by the client (a CallWrapper). */
  readonly call?: CallWrapper;
  /** Client streams, when they are opened. */
  readonly stream?: (next: StreamFn) => StreamFn;
  /** Messages the client publishes. */
  readonly publish?: (next: PublishFn) => PublishFn;
  /** Unary and stream handlers of the service (a HandlerWrapper). */
  readonly handler?: HandlerWrapper;
  /** The service's subscribers, wrapped once per subscription (`info` says which); `event.topic` says the topic too. */
  readonly subscriber?: (next: SubscriberFn, info: SubscriberInfo) => SubscriberFn;
}

/** `bottom` inside the `key` hooks of `middleware` (the first is the outermost); `info` goes to each hook. */
export function around<K extends "call" | "stream" | "publish" | "handler" | "subscriber", F>(
  middleware: readonly Middleware[],
  key: K,
  bottom: F,
  info?: SubscriberInfo,
): F {
  let fn = bottom;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const hook = middleware[i]![key] as ((next: F, info?: SubscriberInfo) => F) | undefined;
    if (hook !== undefined) fn = hook(fn, info);
  }
  return fn;
}
