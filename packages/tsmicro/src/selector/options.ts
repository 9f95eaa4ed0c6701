/**
 * The one place the selector's options are resolved: defaults filled (the values its docs'
 * `@default`s name, checked by a test), values checked (a bad one is a 400 naming the option
 * and what it must be), the result frozen.
 */
import { must, resolveOptions } from "../util/options.js";
import { DEFAULT_GRACE_MS } from "./grace.js";

export const DEFAULT_SELECTOR_OPTIONS = {
  cacheTtlMs: 60_000,
  ejectMs: 1000,
  maxEjectMs: 30_000,
  graceMs: DEFAULT_GRACE_MS,
} as const;

export function resolveSelectorOptions<T extends object>(options: T) {
  return resolveOptions("selector", options, DEFAULT_SELECTOR_OPTIONS, {
    registry: must.object,
    strategy: must.function,
    cacheTtlMs: must.nonNegative,
    ejectMs: must.nonNegative,
    maxEjectMs: must.nonNegative,
    // 0 turns it off.
    graceMs: must.nonNegative,
  });
}
