/**
 * Redis connections for the brokers: ioredis reconnects by itself; commands are not queued
 * while it is down (no offline queue), so a publish waits for the connection explicitly,
 * bounded by its deadline, and never sits in a buffer the caller cannot see.
 */
import { Redis, type RedisOptions } from "ioredis";
import { MicroError } from "tsmicro";
import { startTimer, stopTimer } from "tsmicro/plugin";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

export interface RedisConnectionOptions {
  /** `redis://[:password@]host:port[/db]` (`rediss://` for TLS). @default "redis://127.0.0.1:6379" */
  url?: string;
  /** ACL user (Redis 6+). @default the URL's, else "default" */
  username?: string;
  /** Password of `username` (or of `requirepass`). @default the URL's, else none */
  password?: string;
  /**
   * TLS with server identity: the server's certificate must be signed by `ca` (default: Node's
   * public roots) and name the host dialled (or `serverName`); `cert`/`key` for servers that
   * verify clients (`tls-auth-clients yes`). @default none (plaintext)
   */
  tls?: RedisTlsOptions;
  /** Extra ioredis options. @default {} */
  redis?: RedisOptions;
}

export interface RedisTlsOptions {
  /** PEM CA certificate(s) trusted for the server's certificate. @default Node's public roots */
  ca?: string | Buffer;
  /** PEM client certificate. @default none */
  cert?: string | Buffer;
  /** PEM key of `cert`. @default none */
  key?: string | Buffer;
  /** The name the server's certificate must carry. @default the host dialled */
  serverName?: string;
}

/** ioredis options for `username`, `password` and `tls`. */
export function redisSecurityOptions(options: RedisConnectionOptions): RedisOptions {
  const out: RedisOptions = {};
  if (options.username !== undefined) out.username = options.username;
  if (options.password !== undefined) out.password = options.password;
  if (options.tls !== undefined) {
    const { serverName, ...pem } = options.tls;
    out.tls = {
      ...pem,
      rejectUnauthorized: true,
      ...(serverName === undefined ? {} : { servername: serverName }),
    };
  }
  return out;
}

export function openRedis(options: RedisConnectionOptions, role: string): Redis {
  return new Redis(options.url ?? DEFAULT_REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: null,
    // Reconnect forever, backing off to 1 s: the brokers keep their subscriptions meanwhile.
    retryStrategy: (times) => Math.min(1000, 25 * 2 ** Math.min(times, 6)),
    connectionName: `tsmicro-${role}`,
    ...redisSecurityOptions(options),
    ...options.redis,
  });
}

/** Resolves once `redis` is ready (connecting it the first time); rejects with `signal.reason` on abort. */
export function ready(redis: Redis, signal: AbortSignal | undefined, broker: string): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  if (redis.status === "end") {
    return Promise.reject(
      new MicroError({
        id: "tsmicro",
        code: 503,
        detail: `broker ${broker}: the connection was closed`,
        retryable: true,
      }),
    );
  }
  if (redis.status === "wait") redis.connect().catch(() => {}); // failures retry per retryStrategy
  // One "ready" listener per connection however many publishes wait for it.
  let p = readyWaits.get(redis);
  if (p === undefined) {
    p = new Promise<void>((resolve) => redis.once("ready", () => resolve())).finally(() =>
      readyWaits.delete(redis),
    );
    readyWaits.set(redis, p);
  }
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

const readyWaits = new WeakMap<Redis, Promise<void>>();

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stopTimer(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = startTimer(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
