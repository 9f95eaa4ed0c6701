/**
 * The NATS registry, on a JetStream KV bucket: one key per node
 * (`<service>.<version>.<node id>`), the value its JSON row plus its TTL. A node is live
 * until the server's timestamp of its last write plus its TTL; every registration rewrites
 * it. KV buckets on NATS before 2.11 have no per-key TTL, so expiry is judged by readers:
 * reads skip and sweep expired nodes, and watchers time them out and report a delete.
 * Reads fall back to the last answer while NATS is unreachable; nodes this registry holds
 * are written again when the connection comes back.
 */
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { MicroError, type Registry } from "tsmicro";
import {
  createReadThrough,
  type RegisterOptions,
  type RegistryRow,
  registryRowsOf,
  type Service,
  servicesOfRows,
  type Watcher,
  type WatchOptions,
} from "tsmicro/plugin";
import { type NatsConnectionOptions, natsConnectionHandle } from "./connection.js";
import { resolveNatsRegistryOptions } from "./options.js";
import { rowOfEntry, type StoredNode, sweep } from "./registry-entry.js";
import { createNodeKeeper } from "./registry-keeper.js";
import { nodeKey, serviceFilter } from "./registry-keys.js";
import { watchNats } from "./registry-watch.js";

export type NatsRegistryOptions = NatsConnectionOptions & {
  /** The KV bucket, created on first use if missing. @default "tsmicro-registry" */
  bucket?: string;
  /** Deadline of each JetStream request, ms. @default 3000 */
  timeoutMs?: number;
  /** First delay before writing held nodes again after a failure; doubles up to 5 s. @default 250 */
  reconnectMs?: number;
  /** Replicas of the bucket when this registry creates it. @default 1 */
  replicas?: number;
};

export {
  DEFAULT_NATS_REGISTRY_BUCKET,
  DEFAULT_NATS_REGISTRY_RECONNECT_MS,
  DEFAULT_NATS_REGISTRY_TIMEOUT_MS,
} from "./options.js";

export function createNatsRegistry(options: NatsRegistryOptions = {}): Registry {
  const o = resolveNatsRegistryOptions(options);
  const { bucket, timeoutMs } = o;
  const conn = natsConnectionHandle(o);
  const name = `nats (${conn.servers}, bucket ${bucket})`;
  const failed = (what: string, cause: unknown) =>
    new MicroError({
      id: "tsmicro.registry",
      code: 503,
      detail: `${name} ${what}: ${(cause as Error)?.message ?? String(cause)}`,
      cause,
    });

  let opening: Promise<KV> | undefined;
  let manager: Promise<JetStreamManager> | undefined;
  let status: AsyncIterable<unknown> | undefined;
  let closed = false;
  const openBucket = async (nc: NatsConnection): Promise<KV> => {
    const kvm = new Kvm(jetstream(nc, { timeout: timeoutMs }));
    try {
      return await kvm.create(bucket, { history: 1, replicas: o.replicas });
    } catch {
      // It exists with another configuration (someone made it by hand): use it as it is.
      return await kvm.open(bucket);
    }
  };
  const kv = (): Promise<KV> => {
    if (closed) return Promise.reject(failed("is closed", "close() was called"));
    opening ??= conn
      .get()
      .then((nc) => {
        if (status === undefined) void followStatus(nc);
        manager = jetstreamManager(nc, { timeout: timeoutMs });
        return openBucket(nc);
      })
      .catch((err: unknown) => {
        opening = undefined;
        throw err;
      });
    return opening;
  };

  const keeper = createNodeKeeper({
    reconnectMs: o.reconnectMs,
    write: async (key, value) => {
      await (await kv()).put(key, value, { timeout: timeoutMs });
    },
  });

  // A reconnect may follow a server restart that lost the bucket: open it again, rewrite ours.
  const followStatus = async (nc: NatsConnection) => {
    const iter = nc.status();
    status = iter;
    for await (const s of iter) {
      if (closed) break;
      if (s.type === "reconnect") {
        opening = undefined;
        keeper.rewriteAll();
      }
    }
  };

  // The last answer per read, served while NATS is unreachable.
  const readThrough = createReadThrough();
  const read = (cacheKey: string, filter: string): Promise<Service[]> =>
    readThrough(
      cacheKey,
      async () => {
        const store = await kv();
        // The stream's subject index lists the keys in one request (a keys() consumer scans).
        const subjectPrefix = `$KV.${bucket}.`;
        const info = await (await manager!).streams.info(`KV_${bucket}`, {
          subjects_filter: `${subjectPrefix}${filter}`,
        });
        const keys = Object.keys(info.state.subjects ?? {}).map((s) => s.slice(subjectPrefix.length));
        const entries = await Promise.all(keys.map((k) => store.get(k)));
        const now = Date.now();
        const rows: RegistryRow[] = [];
        for (const e of entries) {
          const row = e === null ? undefined : rowOfEntry(e);
          if (row === undefined) continue;
          if (row.expiresAt !== 0 && row.expiresAt <= now) sweep(store, e!.key, e!.revision);
          else rows.push(row);
        }
        return servicesOfRows(rows);
      },
      (err) => failed("could not be read", err),
    );

  const watchers = new Set<Watcher>();
  return {
    name,
    async register(service: Service, opts: RegisterOptions = {}) {
      const ttlMs = opts.ttlMs ?? 0;
      await Promise.all(
        registryRowsOf(service, 0).map(async ({ expiresAt: _, ...row }) => {
          const key = nodeKey(row.name, row.version, row.node.id);
          const stored: StoredNode = { ...row, ttlMs };
          try {
            await keeper.hold(key, JSON.stringify(stored), ttlMs);
          } catch (err) {
            throw failed(`could not register ${key}`, err);
          }
        }),
      );
    },
    async deregister(service: Service) {
      await Promise.all(
        service.nodes.map(async (n) => {
          const key = nodeKey(service.name, service.version, n.id);
          keeper.release(key);
          try {
            await (await kv()).delete(key);
          } catch (err) {
            throw failed(`could not deregister ${key}`, err);
          }
        }),
      );
    },
    getService: (serviceName) => read(`s:${serviceName}`, serviceFilter(serviceName)),
    listServices: () => read("*", serviceFilter()),
    watch(watchOptions: WatchOptions = {}) {
      const w = watchNats(kv, watchOptions, () => watchers.delete(w));
      watchers.add(w);
      return w;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of [...watchers]) w.stop();
      keeper.close();
      (status as { stop?: () => void } | undefined)?.stop?.();
      await conn.close();
    },
  };
}
