/**
 * The etcd registry: one key per node under a prefix (`<prefix><service>/<version>/<node id>`,
 * each part URI-encoded, the value the node's JSON row), one lease per node with the node's
 * TTL. A re-registration refreshes the lease (keepalive); a node that stops re-registering
 * disappears when its lease runs out, and watchers see a delete. Reads fall back to the
 * last answer while etcd is unreachable, and nodes this registry holds are registered
 * again as soon as etcd answers again.
 */
import { ConsecutiveBreaker, circuitBreaker, ExponentialBackoff, handleWhen, retry } from "cockatiel";
import { Etcd3, type IOptions, isRecoverableError, type Namespace } from "etcd3";
import type { Registry } from "tsmicro";
import type { Service } from "tsmicro/plugin";
import {
  createReadThrough,
  type RegisterOptions,
  type RegistryRow,
  registryRowsOf,
  servicesOfRows,
  type Watcher,
  type WatchOptions,
} from "tsmicro/plugin";
import { unavailable } from "./errors.js";
import { type EtcdLayout, tsmicroEtcdLayout } from "./layout.js";
import { createLeaseKeeper } from "./lease-keeper.js";
import { resolveEtcdRegistryOptions } from "./options.js";
import { watchEtcd } from "./watch.js";

export interface EtcdRegistryOptions {
  /** etcd client endpoints, `host:port` or URLs. @default "127.0.0.1:2379" */
  endpoints?: string | string[];
  /** Key prefix under which every node is stored. @default "/micro/registry/" */
  prefix?: string;
  /** Deadline of each etcd request (not of watch streams), ms. @default 3000 */
  timeoutMs?: number;
  /** First delay before registering held nodes again after etcd failed; doubles up to 5 s. @default 250 */
  reconnectMs?: number;
  /** An etcd3 client to use instead of opening one; `close()` leaves it open. @default none */
  client?: Etcd3;
  /**
   * etcd user and password (etcd's `auth enable`): whoever may write the registry can steer
   * calls, see SECURITY.md. @default none
   */
  auth?: { username: string; password: string };
  /**
   * TLS with server identity: endpoints given as `host:port` are dialled `https://`, the
   * server's certificate must be signed by `ca` (default: public roots) and name the host
   * dialled; `cert`/`key` for client-certificate auth. @default none (plaintext)
   */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  /** More options for the etcd3 client this registry opens. @default {} */
  etcdOptions?: Omit<IOptions, "hosts">;
  /** Keys and values of the nodes (another framework's, to share its registry). @default tsmicro's layout */
  layout?: EtcdLayout;
}

/** etcd3 options for `auth` and `tls`. */
export function etcdSecurityOptions(options: Pick<EtcdRegistryOptions, "auth" | "tls">): Partial<IOptions> {
  const out: Partial<IOptions> = {};
  if (options.auth !== undefined) out.auth = { ...options.auth };
  const tls = options.tls;
  if (tls !== undefined) {
    const pem = (v: string | Buffer | undefined) => (v === undefined ? undefined : Buffer.from(v));
    out.credentials = {
      rootCertificate: pem(tls.ca) as Buffer,
      ...(tls.key === undefined ? {} : { privateKey: pem(tls.key) }),
      ...(tls.cert === undefined ? {} : { certChain: pem(tls.cert) }),
    };
  }
  return out;
}

export {
  DEFAULT_ETCD_ENDPOINT,
  DEFAULT_ETCD_PREFIX,
  DEFAULT_ETCD_RECONNECT_MS,
  DEFAULT_ETCD_TIMEOUT_MS,
} from "./options.js";

export function createEtcdRegistry(given: EtcdRegistryOptions = {}): Registry {
  const options = resolveEtcdRegistryOptions(given);
  const scheme = options.tls === undefined ? "http" : "https";
  const endpoints = [options.endpoints].flat().map((e) => toUrl(e, scheme));
  const { prefix, timeoutMs } = options;
  const name = `etcd (${endpoints.join(",")}${prefix})`;
  const client =
    options.client ??
    new Etcd3({
      ...options.etcdOptions,
      ...etcdSecurityOptions(options),
      // etcd3's defaults back off for up to 30 s; a registry wants etcd back within a second.
      faultHandling: {
        host: () =>
          circuitBreaker(handleWhen(isRecoverableError), {
            halfOpenAfter: 500,
            breaker: new ConsecutiveBreaker(3),
          }),
        global: retry(handleWhen(isRecoverableError), { maxAttempts: 1 }),
        // etcd3 types this as a backoff but calls `.next()` on it as on a factory.
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as never,
        ...options.etcdOptions?.faultHandling,
      },
      // gRPC's own reconnect back-off grows to 2 minutes; keep it near the watch back-off.
      grpcOptions: {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1000,
        ...options.etcdOptions?.grpcOptions,
      },
      hosts: endpoints,
      dialTimeout: timeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
    });
  const ns: Namespace = client.namespace(prefix);
  const layout = options.layout ?? tsmicroEtcdLayout;
  const keeper = createLeaseKeeper(ns, {
    reconnectMs: options.reconnectMs,
    describe: name,
  });
  // The last answer per read, served while etcd is unreachable.
  const readThrough = createReadThrough();
  const watchers = new Set<Watcher>();
  let closed = false;

  const read = (cacheKey: string, keyPrefix: string): Promise<Service[]> =>
    readThrough(
      cacheKey,
      async () => {
        const { kvs } = await ns.getAll().prefix(keyPrefix).exec();
        const rows: RegistryRow[] = [];
        for (const kv of kvs) {
          // A key without a lease never expires: refused unless etcd removes it (see storeExpires).
          const row = layout.decode(kv.value.toString(), kv.key.toString(), kv.lease !== "0");
          if (row !== undefined) rows.push(row);
        }
        return servicesOfRows(rows);
      },
      (err) => unavailable(`${name} could not be read`, err),
    );

  return {
    name,
    async register(service: Service, opts: RegisterOptions = {}) {
      if (closed) throw unavailable(`${name} is closed`);
      const ttlMs = opts.ttlMs ?? 0;
      await Promise.all(
        registryRowsOf(service, 0).map((row) =>
          keeper.hold(layout.nodeKey(row.name, row.version, row.node.id), layout.encode(row), ttlMs),
        ),
      );
    },
    async deregister(service: Service) {
      if (closed) throw unavailable(`${name} is closed`);
      await Promise.all(
        service.nodes.map((n) => keeper.release(layout.nodeKey(service.name, service.version, n.id))),
      );
    },
    getService: (serviceName) => read(`s:${serviceName}`, layout.serviceKey(serviceName)),
    listServices: () => read("*", ""),
    watch(watchOptions: WatchOptions = {}) {
      const w = watchEtcd(ns, layout, watchOptions, () => watchers.delete(w));
      watchers.add(w);
      return w;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of [...watchers]) w.stop();
      keeper.close();
      if (options.client === undefined) client.close();
    },
  };
}

function toUrl(endpoint: string, scheme: string): string {
  return /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `${scheme}://${endpoint}`;
}
