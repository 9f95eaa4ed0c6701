/**
 * OpenTelemetry tracing for tsmicro: a CLIENT span per call and a SERVER span per handled
 * request, linked across processes by W3C `traceparent` / `tracestate` in the call metadata,
 * so a chain A → B → C is one trace.
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
import { type CallWrapper, type HandlerWrapper, MicroError, withMetadata } from "tsmicro";

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

  return {
    client: (next) => async (ctx, req, opts) => {
      const active = context.active();
      const current = trace.getSpan(active)?.spanContext();
      const parent = current !== undefined && isSpanContextValid(current) ? active : extract(ctx.metadata);
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
    },

    server: (next) => async (ctx, req) => {
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
    },
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
    const e = MicroError.from(err, service);
    span.setAttribute("tsmicro.error.code", e.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${e.code} ${e.status}: ${e.detail}` });
    span.recordException({ name: e.name, message: e.detail });
    throw err;
  } finally {
    span.end();
  }
}
