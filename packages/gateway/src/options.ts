/**
 * The one place the gateway's options are resolved: defaults filled (the values its docs'
 * `@default`s name, checked by a test), values checked (a bad one is a 400 naming the option
 * and what it must be), the result frozen. The registry, client, catalog and stats defaults
 * are objects the gateway makes (and closes) itself.
 */
import { expect, resolveOptions } from "tsmicro/plugin";
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
      address: expect.text,
      registry: expect.object,
      client: expect.object,
      dashboard: expect.either(expect.boolean, expect.object),
      maxBodyBytes: expect.positiveInteger,
      maxUrlBytes: expect.positiveInteger,
      maxHeaderBytes: expect.positiveInteger,
      routes: expect.object,
      rest: expect.object,
      apis: list,
      openapi: expect.either(expect.oneOf(false), expect.object),
      cors: expect.object,
      auth: expect.object,
      rateLimit: expect.object,
      redactErrors: expect.boolean,
      catalog: expect.object,
      stats: expect.object,
      allowedHosts: list,
      log: expect.function,
    },
  );
}
