/**
 * The one place the PostgreSQL store's options are resolved: defaults filled (the values its
 * docs' `@default`s name, checked by a test), values checked (a bad one is a 400 naming the
 * option and what it must be), the result frozen.
 */
import { must, resolveOptions } from "tsmicro/plugin";

export const DEFAULT_POSTGRES_URL = "postgres://tsmicro:tsmicro@127.0.0.1:5432/tsmicro";

export function resolvePostgresStoreOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "postgres store",
    options,
    {
      url: process.env.DATABASE_URL ?? DEFAULT_POSTGRES_URL,
      schema: "tsmicro_store",
      poolSize: 10,
      timeoutMs: 5000,
      sweepIntervalMs: 60_000,
    },
    {
      url: must.text,
      schema: must.text,
      poolSize: must.positiveInteger,
      timeoutMs: must.positive,
      sweepIntervalMs: must.positive,
      database: must.text,
      table: must.text,
      limits: must.object,
    },
  );
}
