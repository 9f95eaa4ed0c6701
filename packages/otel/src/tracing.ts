/**
 * OpenTelemetry tracing for tsmicro: a CLIENT span per call and per client stream, a SERVER
 * span per handled request or stream, a PRODUCER span per published message and a CONSUMER
 * span per delivery to a subscriber, linked across processes by W3C `traceparent` /
 * `tracestate` in the call metadata and the message headers, so a chain
 * A → B → publish → subscriber → C is one trace.
 *
 * The parent of a client span is the active OpenTelemetry span when there is one (an
 * AsyncLocalStorage context manager is registered and the caller is inside a span), else the
 * `traceparent` in the call's Context metadata. The server wrapper puts its own span there, so
 * a nested call made with the handler's `ctx` is its child with or without a context manager.
 */
import {
  type Attributes,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  type Context as OtelContext,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { type CallWrapper, type Context, type HandlerWrapper, MicroError, withMetadata } from "tsmicro";
import { HEADER, type Middleware } from "tsmicro/plugin";

export const TRACER_NAME = "@tsmicro/otel";

export interface TracingOptions {
  /** Where spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** How span context travels in metadata. @default W3C Trace Context (`traceparent`, `tracestate`) */
  propagator?: TextMapPropagator;
}

export interface Tracing {
  /** Put in `newClient({ wrappers })`: a CLIENT span per call, its context injected into the call metadata. */
  readonly client: CallWrapper;
  /** Put in `newService({ wrappers })`: a SERVER span per request, child of the caller's span. */
  readonly server: HandlerWrapper;
  /**
   * Every path at once: put in `newService({ middleware })` or `newClient({ middleware })`. Its
   * `call` and `handler` are `client` and `server`; it adds client streams (CLIENT span until the
   * stream ends), publishes (PRODUCER span, context injected into the message headers) and
   * subscribers (CONSUMER span, child of the publisher's).
   */
  readonly middleware: Middleware;
}

export function createTracing(options: TracingOptions = {}): Tracing {
  const propagator = options.propagator ?? new W3CTraceContextPropagator();
  const tracer: Tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(TRACER_NAME);

  const inject = (ctx: OtelContext): Record<string, string> => {
    const carrier: Record<string, string> = {};
    propagator.inject(ctx, carrier, defaultTextMapSetter);
    return carrier;
  };
  const extract = (metadata: Readonly<Record<string, string>>): OtelContext =>
    propagator.extract(ROOT_CONTEXT, metadata, defaultTextMapGetter);
  // The active span when there is one, else the span context the caller's ctx carries.
  const parentOf = (ctx: Context): OtelContext => {
    const active = context.active();
    const current = trace.getSpan(active)?.spanContext();
    return current !== undefined && isSpanContextValid(current) ? active : extract(ctx.metadata);
  };

  const client: CallWrapper = (next) => async (ctx, req, opts) => {
    const parent = parentOf(ctx);
    const span = tracer.startSpan(
      `${req.service}/${req.endpoint}`,
      { kind: SpanKind.CLIENT, attributes: rpcAttributes(req.service, req.endpoint, ctx.chain) },
      parent,
    );
    const spanCtx = trace.setSpan(parent, span);
    const metadata = { ...opts.metadata, ...inject(spanCtx) };
    return finish(
      span,
      () => context.with(spanCtx, () => next(ctx, req, { ...opts, metadata })),
      req.service,
    );
  };

  const server: HandlerWrapper = (next) => async (ctx, req) => {
    const parent = extract(req.metadata);
    const span = tracer.startSpan(
      `${req.service}/${req.endpoint}`,
      { kind: SpanKind.SERVER, attributes: rpcAttributes(req.service, req.endpoint, ctx.chain) },
      parent,
    );
    const spanCtx = trace.setSpan(parent, span);
    // Calls made with the handler's ctx carry this span as their parent.
    const inner = withMetadata(ctx, inject(spanCtx));
    return finish(
      span,
      () => context.with(spanCtx, () => next(inner, { ...req, metadata: inner.metadata })),
      req.service,
    );
  };

  const middleware: Middleware = {
    name: "otel",
    call: client,
    handler: server,
    stream: (next) => async (ctx, req, opts) => {
      const parent = parentOf(ctx);
      const span = tracer.startSpan(
        `${req.service}/${req.endpoint}`,
        {
          kind: SpanKind.CLIENT,
          attributes: { ...rpcAttributes(req.service, req.endpoint, ctx.chain), "tsmicro.stream": true },
        },
        parent,
      );
      const spanCtx = trace.setSpan(parent, span);
      const metadata = { ...opts.metadata, ...inject(spanCtx) };
      let stream: Awaited<ReturnType<typeof next>>;
      try {
        stream = await context.with(spanCtx, () => next(ctx, req, { ...opts, metadata }));
      } catch (err) {
        fail(span, err, req.service);
        span.end();
        throw err;
      }
      // The span lasts as long as the stream, not just its opening.
      void stream.finished.then(
        (err) => {
          if (err !== undefined) fail(span, err, req.service);
          span.end();
        },
        (err: unknown) => {
          fail(span, err, req.service);
          span.end();
        },
      );
      return stream;
    },
    publish: (next) => async (ctx, message, opts) => {
      const parent = parentOf(ctx);
      const span = tracer.startSpan(
        `send ${message.topic}`,
        { kind: SpanKind.PRODUCER, attributes: messagingAttributes(message.topic, "send") },
        parent,
      );
      const spanCtx = trace.setSpan(parent, span);
      // Into the message headers: on top of ctx.metadata, so it replaces a traceparent there.
      const metadata = { ...opts.metadata, ...inject(spanCtx) };
      return finish(
        span,
        () => context.with(spanCtx, () => next(ctx, message, { ...opts, metadata })),
        "tsmicro",
      );
    },
    subscriber: (next, info) => async (ctx, payload, event) => {
      const parent = extract(ctx.metadata);
      const attributes = messagingAttributes(info.topic, "process");
      attributes["messaging.destination.subscription.name"] = info.service;
      if (info.queue !== undefined) attributes["messaging.consumer.group.name"] = info.queue;
      const id = ctx.metadata[HEADER.id];
      if (id !== undefined) attributes["messaging.message.id"] = id;
      attributes["tsmicro.attempt"] = event.attempt;
      const span = tracer.startSpan(`process ${info.topic}`, { kind: SpanKind.CONSUMER, attributes }, parent);
      const spanCtx = trace.setSpan(parent, span);
      // Calls and publishes made with the subscriber's ctx carry this span as their parent.
      const inner = withMetadata(ctx, inject(spanCtx));
      return finish(span, () => context.with(spanCtx, async () => next(inner, payload, event)), info.service);
    },
  };

  return { client, server, middleware };
}

function messagingAttributes(topic: string, operation: "send" | "process"): Attributes {
  return {
    "messaging.system": "tsmicro",
    "messaging.destination.name": topic,
    "messaging.operation.type": operation,
  };
}

function rpcAttributes(service: string, endpoint: string, chain: readonly string[]): Attributes {
  const attrs: Attributes = { "rpc.system": "tsmicro", "rpc.service": service, "rpc.method": endpoint };
  if (chain.length > 0) attrs["tsmicro.chain"] = [...chain];
  return attrs;
}

/** Runs `work` and ends `span` with its outcome: the MicroError's code and detail on failure. */
async function finish<T>(span: Span, work: () => Promise<T>, service: string): Promise<T> {
  try {
    const result = await work();
    return result;
  } catch (err) {
    fail(span, err, service);
    throw err;
  } finally {
    span.end();
  }
}

/** Marks `span` failed with the MicroError's code and detail. */
function fail(span: Span, err: unknown, service: string): void {
  const e = MicroError.from(err, service);
  span.setAttribute("tsmicro.error.code", e.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${e.code} ${e.status}: ${e.detail}` });
  span.recordException({ name: e.name, message: e.detail });
}
