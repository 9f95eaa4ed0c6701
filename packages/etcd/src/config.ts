/**
 * The etcd config source: every key under a prefix is a setting, its path split on `/`
 * (`<prefix>client/retries` = `3` → `{ client: { retries: 3 } }`), values parsed as JSON
 * scalars where they are. Watched: any put or delete under the prefix reloads the whole
 * prefix, so a snapshot is always one consistent read, and loadConfig validates it before
 * applying it.
 */
import { Etcd3, type IOptions } from "etcd3";
import { type ConfigSource, type ConfigValues, parseScalar, setPath } from "tsmicro/plugin";
import { resolveEtcdConfigSourceOptions } from "./options.js";

export interface EtcdConfigSourceOptions {
  /** Keys under this prefix are the settings. @default "/tsmicro/config/" */
  prefix?: string;
  /** @default ["127.0.0.1:2379"] */
  endpoints?: string | string[];
  /** Extra etcd3 options (auth, TLS). @default {} */
  etcdOptions?: Omit<IOptions, "hosts">;
}

export function etcdConfigSource(given: EtcdConfigSourceOptions = {}): ConfigSource {
  const options = resolveEtcdConfigSourceOptions(given);
  const prefix = options.prefix;
  const hosts = [options.endpoints].flat().map((h) => (/^https?:\/\//.test(h) ? h : `http://${h}`));
  const client = new Etcd3({ ...options.etcdOptions, hosts });
  const ns = client.namespace(prefix);
  const load = async (): Promise<ConfigValues> => {
    const all = await ns.getAll().strings();
    const out: ConfigValues = {};
    for (const [key, value] of Object.entries(all)) {
      const path = key.split("/").filter((s) => s !== "");
      if (path.length > 0) setPath(out, path, parseScalar(value));
    }
    return out;
  };
  let watchers = 0;
  return {
    name: `etcd ${prefix}`,
    load,
    async *watch(signal) {
      watchers++;
      let dirty = true; // reload once the watch is connected: nothing between load() and now is missed
      let wake: (() => void) | undefined;
      const poke = () => {
        dirty = true;
        wake?.();
      };
      const w = await ns.watch().prefix("").create();
      w.on("put", poke);
      w.on("delete", poke);
      w.on("error", () => {}); // etcd3 reconnects the stream and resumes from its revision
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
        await w.cancel().catch(() => {});
        if (--watchers === 0) client.close();
      }
    },
  };
}
