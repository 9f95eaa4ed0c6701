/**
 * The one place the metrics' options are resolved: defaults filled (the values their docs'
 * `@default`s name, checked by a test), values checked (a bad one is a 400 naming the option
 * and what it must be), the result frozen.
 */
import { must, resolveOptions } from "tsmicro/plugin";

/** Seconds; from half a millisecond (loopback calls) to ten seconds. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);
export const DEFAULT_MAX_TOPICS = 256;
export const DEFAULT_METRICS_ADDRESS = "127.0.0.1:9464";

const hostNames = {
  test: (v: unknown) => Array.isArray(v) && v.every((h) => typeof h === "string"),
  text: "a list of host names",
};

export function resolveMetricsOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "metrics",
    options,
    { prefix: "tsmicro_", buckets: DEFAULT_BUCKETS, processMetrics: false, maxTopics: DEFAULT_MAX_TOPICS },
    {
      register: must.object,
      // Empty: metric names are the bare ones.
      prefix: must.either(must.text, must.oneOf("")),
      buckets: {
        test: (v) => Array.isArray(v) && v.length > 0 && v.every((b) => typeof b === "number" && b > 0),
        text: "a non-empty list of numbers > 0",
      },
      processMetrics: must.boolean,
      maxTopics: must.positiveInteger,
    },
  );
}

export function resolveMetricsServerOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "metrics server",
    options,
    { address: DEFAULT_METRICS_ADDRESS, path: "/metrics" },
    {
      address: must.text,
      path: { test: (v) => typeof v === "string" && v.startsWith("/"), text: 'a path starting with "/"' },
      allowedHosts: hostNames,
    },
  );
}
