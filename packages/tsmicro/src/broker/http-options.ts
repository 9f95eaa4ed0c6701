/**
 * The one place the HTTP broker's options are resolved: defaults filled (the values its docs'
 * `@default`s name, checked by a test), values checked (a bad one is a 400 naming the option
 * and what it must be), the result frozen.
 */
import { must, resolveOptions } from "../util/options.js";

export const DEFAULT_HTTP_BROKER_OPTIONS = {
  address: "127.0.0.1:0",
  registerTtlMs: 30_000,
  registerIntervalMs: 10_000,
  maxMessageBytes: 4 * 1024 * 1024,
  maxPending: 1000,
  cacheTtlMs: 10_000,
  maxSockets: 16,
} as const;

export function resolveHttpBrokerOptions<T extends object>(options: T | undefined) {
  return resolveOptions("http broker", options, DEFAULT_HTTP_BROKER_OPTIONS, {
    registry: must.object,
    address: must.text,
    advertise: must.text,
    registerTtlMs: must.positive,
    registerIntervalMs: must.positive,
    maxMessageBytes: must.positiveInteger,
    maxPending: must.positiveInteger,
    cacheTtlMs: must.nonNegative,
    maxSockets: must.positiveInteger,
    onError: must.function,
  });
}
