/**
 * The one place the auth package's options are resolved: defaults filled (the values their
 * docs' `@default`s name, checked by a test), values checked (a bad one is a 400 naming the
 * option and what it must be), the result frozen.
 */
import { must, resolveOptions } from "tsmicro/plugin";

export const DEFAULT_TOKEN_TTL_MS = 15 * 60 * 1000;
export const DEFAULT_ISSUER = "tsmicro";
export const DEFAULT_AUDIENCE = "tsmicro";
export const DEFAULT_CLOCK_TOLERANCE_SEC = 5;
export const DEFAULT_TOKEN_CACHE_SIZE = 1024;
export const DEFAULT_AUTH_METADATA_KEY = "authorization";
export const DEFAULT_REFRESH_BEFORE_MS = 60_000;

export function resolveAuthOptions<T extends object>(options: T) {
  return resolveOptions(
    "auth",
    options,
    {
      issuer: DEFAULT_ISSUER,
      audience: DEFAULT_AUDIENCE,
      tokenTtlMs: DEFAULT_TOKEN_TTL_MS,
      clockToleranceSec: DEFAULT_CLOCK_TOLERANCE_SEC,
      cacheSize: DEFAULT_TOKEN_CACHE_SIZE,
    },
    {
      algorithm: must.oneOf("EdDSA", "ES256"),
      publicKey: must.object,
      privateKey: must.object,
      issuer: must.text,
      audience: must.text,
      tokenTtlMs: must.positive,
      clockToleranceSec: must.nonNegative,
      // 0 turns the cache off.
      cacheSize: must.nonNegativeInteger,
    },
  );
}

export function resolveTokenSourceOptions<T extends object>(options: T) {
  return resolveOptions(
    "token source",
    options,
    { refreshBeforeMs: DEFAULT_REFRESH_BEFORE_MS },
    { fetch: must.function, refreshBeforeMs: must.nonNegative },
  );
}

export function resolveAuthHandlerOptions<T extends object>(options: T) {
  return resolveOptions(
    "auth handler",
    options,
    { metadataKey: DEFAULT_AUTH_METADATA_KEY },
    {
      auth: must.object,
      rules: { test: Array.isArray, text: "a list of rules" },
      metadataKey: must.text,
    },
  );
}
