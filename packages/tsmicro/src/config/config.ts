/**
 * loadConfig: go-micro's `config` (sources merged in order, `Scan` into a typed value, `Watch`),
 * validated by a Standard Schema (zod, valibot, arktype...). The result is typed by the schema.
 * A change from a watched source is merged and validated before it is applied: a bad value is
 * a MicroError naming the key, the source that set it and the rule it broke, and the previous
 * good config stays in force. `watch()` yields each applied change.
 *
 *   const config = await loadConfig({
 *     schema: z.object({ client: z.object({ retries: z.number().int().min(0) }) }),
 *     defaults: { client: { retries: 1 } },
 *     files: ["config.yaml"],
 *     env: { prefix: "APP_" },
 *     flags: true,
 *     sources: [etcdConfigSource({ prefix: "/app/config/" })],
 *   });
 *   config.get().client.retries; // number
 */

import type { StandardSchemaV1 } from "../contract/standard-schema.js";
import { formatPath } from "../contract/validate.js";
import { MicroError } from "../errors.js";
import { type ConfigSource, type ConfigValues, leafPaths, mergeValues } from "./source.js";
import {
  defaultsSource,
  type EnvSourceOptions,
  envSource,
  type FileSourceOptions,
  type FlagSourceOptions,
  fileSource,
  flagSource,
} from "./sources.js";

export interface LoadConfigOptions<T> {
  /** Validates and types the merged values. */
  schema: StandardSchemaV1<unknown, T>;
  /** The first layer. @default none */
  defaults?: ConfigValues;
  /** JSON or YAML files (by extension), merged in order after the defaults. @default none */
  files?: readonly (string | ({ path: string } & FileSourceOptions))[];
  /** Environment variables with this prefix, after the files (`APP_CLIENT__RETRIES` → `client.retries`). @default none */
  env?: EnvSourceOptions;
  /** Command-line flags after the environment (`--client.retries=3`); `true` reads process.argv. @default none */
  flags?: boolean | FlagSourceOptions;
  /** More sources, last (etcd, NATS KV: watched). Later sources override earlier ones. @default [] */
  sources?: readonly ConfigSource[];
  /** Told about rejected changes and failing watches (the config keeps its last good value). @default console.error */
  onError?: (err: MicroError) => void;
}

export interface ConfigChange<T> {
  previous: T;
  current: T;
  /** Leaf paths whose value changed: `client.retries`. */
  changed: string[];
  /** The source whose change produced it. */
  source: string;
}

export interface Config<T> {
  /** The current good config (frozen). */
  get(): T;
  /** Each applied change, from now on, until `signal` aborts or `close()`. */
  watch(options?: { signal?: AbortSignal }): AsyncIterable<ConfigChange<T>>;
  /** The last rejected change or failed watch, if any since the last applied change. */
  readonly lastError: MicroError | undefined;
  /** Stops watching the sources. */
  close(): Promise<void>;
}

function freeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) freeze(x);
  }
  return v;
}

function valueAt(values: unknown, path: string): unknown {
  let at = values;
  for (const seg of path.split("."))
    at = typeof at === "object" && at !== null ? (at as ConfigValues)[seg] : undefined;
  return at;
}

/** Loads, merges and validates the sources; resolves with a typed, watched Config or rejects naming the bad key. */
export async function loadConfig<T>(options: LoadConfigOptions<T>): Promise<Config<T>> {
  const { schema } = options;
  // go-micro's order: defaults, files, env, flags, then the remote sources.
  const sources: ConfigSource[] = [
    ...(options.defaults === undefined ? [] : [defaultsSource(options.defaults)]),
    ...(options.files ?? []).map((f) => (typeof f === "string" ? fileSource(f) : fileSource(f.path, f))),
    ...(options.env === undefined ? [] : [envSource(options.env)]),
    ...(options.flags === undefined || options.flags === false
      ? []
      : [flagSource(options.flags === true ? {} : options.flags)]),
    ...(options.sources ?? []),
  ];
  const onError = options.onError ?? ((e: MicroError) => console.error(`tsmicro config: ${e.detail}`));
  const layers: ConfigValues[] = await Promise.all(sources.map((s) => s.load()));

  // Which source set each leaf last: the one an error names. The latest layer that sets the
  // leaf, or replaces a parent of it with a non-object; failing that (a missing leaf), the latest
  // one that sets a parent object. A layer that only sets a sibling is not the origin.
  const origin = (path: string): string => {
    let parentOf: string | undefined;
    for (let i = layers.length - 1; i >= 0; i--) {
      for (let probe = path; ; ) {
        const v = valueAt(layers[i], probe);
        if (v !== undefined) {
          if (probe === path || typeof v !== "object" || v === null || Array.isArray(v))
            return sources[i]!.name;
          parentOf ??= sources[i]!.name;
          break;
        }
        const dot = probe.lastIndexOf(".");
        if (dot === -1) break;
        probe = probe.slice(0, dot);
      }
    }
    return parentOf ?? "no source (missing)";
  };
  const build = async (): Promise<{ value: T; merged: ConfigValues }> => {
    const merged = layers.reduce<ConfigValues>((acc, l) => mergeValues(acc, l), {});
    let result = schema["~standard"].validate(merged);
    if (result instanceof Promise) result = await result;
    if (result.issues !== undefined) {
      const issues = result.issues.map((i) => {
        const key = formatPath("", i.path).replace(/^\./, "") || "(the whole config)";
        const value = valueAt(merged, key);
        return `key "${key}" from ${origin(key)}${value === undefined ? "" : ` (value ${JSON.stringify(value)})`} breaks the rule: ${i.message}`;
      });
      throw new MicroError({
        id: "tsmicro.config",
        code: 400,
        detail: `invalid config: ${issues.join("; ")}`,
        retryable: false,
      });
    }
    return { value: freeze(structuredClone(result.value)), merged };
  };

  let current = await build();
  let lastError: MicroError | undefined;
  const listeners = new Set<(c: ConfigChange<T>) => void>();
  const stop = new AbortController();
  // Changes are applied one at a time, in arrival order.
  let applying: Promise<void> = Promise.resolve();
  const apply = (index: number, values: ConfigValues) => {
    applying = applying.then(async () => {
      const before = layers[index]!;
      layers[index] = values;
      let next: { value: T; merged: ConfigValues };
      try {
        next = await build();
      } catch (err) {
        layers[index] = before; // the previous good config stays
        lastError = MicroError.from(err);
        onError(lastError);
        return;
      }
      lastError = undefined;
      const changed = [...new Set([...leafPaths(current.merged), ...leafPaths(next.merged)])].filter(
        (p) => JSON.stringify(valueAt(current.merged, p)) !== JSON.stringify(valueAt(next.merged, p)),
      );
      if (changed.length === 0) return;
      const change: ConfigChange<T> = {
        previous: current.value,
        current: next.value,
        changed,
        source: sources[index]!.name,
      };
      current = next;
      for (const l of listeners) l(change);
    });
  };
  sources.forEach((source, index) => {
    if (source.watch === undefined) return;
    void (async () => {
      try {
        for await (const values of source.watch!(stop.signal)) apply(index, values);
      } catch (err) {
        if (stop.signal.aborted) return;
        lastError = new MicroError({
          id: "tsmicro.config",
          code: 503,
          detail: `config source ${source.name}: watch ended: ${(err as Error)?.message ?? String(err)}`,
          cause: err,
        });
        onError(lastError);
      }
    })();
  });

  return {
    get: () => current.value,
    get lastError() {
      return lastError;
    },
    watch(o = {}) {
      const queue: ConfigChange<T>[] = [];
      let wake: (() => void) | undefined;
      const push = (c: ConfigChange<T>) => {
        queue.push(c);
        wake?.();
      };
      // From the call on, not from the first next(): no change between the two is missed.
      listeners.add(push);
      return {
        async *[Symbol.asyncIterator]() {
          const ended = () => o.signal?.aborted === true || stop.signal.aborted;
          const onAbort = () => wake?.();
          o.signal?.addEventListener("abort", onAbort);
          stop.signal.addEventListener("abort", onAbort);
          try {
            while (!ended()) {
              if (queue.length > 0) {
                yield queue.shift()!;
                continue;
              }
              await new Promise<void>((r) => {
                wake = r;
              });
              wake = undefined;
            }
          } finally {
            listeners.delete(push);
            o.signal?.removeEventListener("abort", onAbort);
            stop.signal.removeEventListener("abort", onAbort);
          }
        },
      };
    },
    async close() {
      stop.abort();
      await applying;
    },
  };
}
