/**
 * The one place the gateway's options are resolved: defaults filled (the values its docs'
 * `@default`s name, checked by a test), values checked (a bad one is a 400 naming the option
 * and what it must be), the result frozen. The registry, client, catalog and stats defaults
 * are objects the gateway makes (and closes) itself.
 */
import { must, resolveOptions } from "tsmicro/plugin";
import { DEFAULT_MAX_URL_BYTES } from "./target.js";

export const DEFAULT_GATEWAY_ADDRESS = "127.0.0.1:8080";
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

const list = { test: Array.isArray, text: "a list" };

export function resolveGatewayOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "gateway",
    options,
    {
      address: DEFAULT_GATEWAY_ADDRESS,
      dashboard: true,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      maxUrlBytes: DEFAULT_MAX_URL_BYTES,
      maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
      routes: {},
      rest: {},
      apis: [],
      log: (m: string) => console.warn(m),
    },
    {
      address: must.text,
      registry: must.object,
      client: must.object,
      dashboard: must.either(must.boolean, must.object),
      maxBodyBytes: must.positiveInteger,
      maxUrlBytes: must.positiveInteger,
      maxHeaderBytes: must.positiveInteger,
      routes: must.object,
      rest: must.object,
      apis: list,
      openapi: must.either(must.oneOf(false), must.object),
      cors: must.object,
      auth: must.object,
      rateLimit: must.object,
      redactErrors: must.boolean,
      catalog: must.object,
      stats: must.object,
      allowedHosts: list,
      log: must.function,
    },
  );
}
