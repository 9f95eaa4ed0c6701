/**
 * The one place the tracing options are resolved: defaults filled (the global tracer provider,
 * W3C Trace Context), values checked (a bad one is a 400 naming the option and what it must
 * be), the result frozen.
 */
import { trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { must, resolveOptions } from "tsmicro/plugin";

export function resolveTracingOptions<T extends object>(options: T | undefined) {
  const given = options as { tracerProvider?: unknown; propagator?: unknown } | undefined;
  return resolveOptions(
    "tracing",
    options,
    {
      // Made only when not given.
      tracerProvider: given?.tracerProvider === undefined ? trace.getTracerProvider() : undefined,
      propagator: given?.propagator === undefined ? new W3CTraceContextPropagator() : undefined,
    },
    { tracerProvider: must.object, propagator: must.object },
  );
}
