/**
 * The NATS KV config source: every key of a bucket is a setting, its path split on `.`
 * (`client.retries` = `3` → `{ client: { retries: 3 } }`), values parsed as JSON scalars where
 * they are. Watched: each update reloads the whole bucket, so a snapshot is one consistent
 * read that loadConfig validates before applying.
 */
import { jetstream } from "@nats-io/jetstream";
import { type KV, Kvm, KvWatchInclude } from "@nats-io/kv";
import { type ConfigSource, type ConfigValues, parseScalar, setPath } from "tsmicro/plugin";
import { type NatsConnectionOptions, natsConnectionHandle } from "./connection.js";
import { resolveNatsConfigSourceOptions } from "./options.js";

export interface NatsConfigSourceOptions extends NatsConnectionOptions {
  /** The KV bucket holding the settings, created if missing. @default "tsmicro-config" */
  bucket?: string;
  /** Bound on each JetStream request, ms. @default 5000 */
  timeoutMs?: number;
}

export function natsConfigSource(
  given: NatsConfigSourceOptions = {},
): ConfigSource & { close(): Promise<void> } {
  const options = resolveNatsConfigSourceOptions(given);
  const bucketName = options.bucket;
  const conn = natsConnectionHandle(options);
  let opening: Promise<KV> | undefined;
  const kv = () => {
    opening ??= conn
      .get()
      .then((nc) => new Kvm(jetstream(nc, { timeout: options.timeoutMs })).create(bucketName, { history: 1 }))
      .catch((err: unknown) => {
        opening = undefined;
        throw err;
      });
    return opening;
  };
  const load = async (): Promise<ConfigValues> => {
    const b = await kv();
    const out: ConfigValues = {};
    const keys: string[] = [];
    for await (const k of await b.keys()) keys.push(k);
    for (const k of keys.sort()) {
      const e = await b.get(k);
      if (e === null || e.operation !== "PUT") continue;
      setPath(out, k.split("."), parseScalar(e.string()));
    }
    return out;
  };
  return {
    name: `nats kv ${bucketName}`,
    load,
    async *watch(signal) {
      const b = await kv();
      let dirty = true; // reload once watching: nothing between load() and now is missed
      let wake: (() => void) | undefined;
      const updates = await b.watch({ include: KvWatchInclude.UpdatesOnly });
      void (async () => {
        for await (const _ of updates) {
          dirty = true;
          wake?.();
        }
      })();
      signal.addEventListener("abort", () => wake?.(), { once: true });
      try {
        while (!signal.aborted) {
          if (dirty) {
            dirty = false;
            yield await load();
            continue;
          }
          await new Promise<void>((r) => {
            wake = r;
          });
          wake = undefined;
        }
      } finally {
        updates.stop();
      }
    },
    close: () => conn.close(),
  };
}
