/**
 * The one place the SQLite file store's options are resolved: defaults filled (the values its
 * docs' `@default`s name, checked by a test), values checked (a bad one is a 400 naming the
 * option and what it must be), the result frozen.
 */
import { must, resolveOptions } from "tsmicro/plugin";

export const DEFAULT_STORE_FILE = "tsmicro-store.db";

export function resolveFileStoreOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "sqlite store",
    options,
    { path: DEFAULT_STORE_FILE, synchronous: "NORMAL", busyTimeoutMs: 5000 },
    {
      path: must.text,
      synchronous: must.oneOf("NORMAL", "FULL"),
      busyTimeoutMs: must.nonNegative,
      database: must.text,
      table: must.text,
      limits: must.object,
    },
  );
}
