/**
 * The one place the logging options are resolved: defaults filled (the values their docs'
 * `@default`s name, checked by a test), values checked (a bad one is a 400 naming the option
 * and what it must be), the result frozen.
 */
import { must, resolveOptions } from "tsmicro/plugin";

export const DEFAULT_REQUEST_ID_KEY = "x-request-id";
export const DEFAULT_LOG_LEVEL = "warn";
/** pino's levels (and `silent`). */
const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function resolveLoggingOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "logging",
    options,
    // Read when the logging is made, so a test or a launcher may set it first.
    { level: process.env.MICRO_LOG_LEVEL || DEFAULT_LOG_LEVEL, requestIdKey: DEFAULT_REQUEST_ID_KEY },
    {
      logger: must.object,
      level: must.oneOf(...LEVELS),
      destination: must.object,
      requestIdKey: must.text,
    },
  );
}
