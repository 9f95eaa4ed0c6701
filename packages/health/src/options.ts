/**
 * The one place the health server's options are resolved: defaults filled (the values its
 * docs' `@default`s name, checked by a test), values checked (a bad one is a 400 naming the
 * option and what it must be), the result frozen.
 */
import { must, resolveOptions } from "tsmicro/plugin";

export const DEFAULT_HEALTH_ADDRESS = "127.0.0.1:8081";
export const DEFAULT_CHECK_TIMEOUT_MS = 2000;

export function resolveHealthServerOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "health server",
    options,
    {
      address: DEFAULT_HEALTH_ADDRESS,
      checks: {},
      routes: {},
      timeoutMs: DEFAULT_CHECK_TIMEOUT_MS,
      verifyRegistry: true,
    },
    {
      address: must.text,
      checks: must.object,
      routes: must.object,
      timeoutMs: must.positive,
      verifyRegistry: must.boolean,
      client: must.object,
      allowedHosts: {
        test: (v) => Array.isArray(v) && v.every((h) => typeof h === "string"),
        text: "a list of host names",
      },
    },
  );
}
