/**
 * The Redis streams broker: at-least-once. A topic is a stream (`XADD`); a queue group is a
 * consumer group that keeps its place while no member runs; a broadcast subscription is a
 * consumer group of its own, destroyed on unsubscribe. Entries are acked (`XACK`) after the
 * handler; an entry a dead process left unacked is claimed by a live member after
 * `claimIdleMs` (`XAUTOCLAIM`), and Redis's delivery counter is `event.attempt`.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import { type Broker, MicroError } from "tsmicro";
import {
  type BrokerHandler,
  type BrokerOptions,
  deliver,
  errorSink,
  type BrokerMessage as Message,
  notConnected,
  type PublishOptions,
  publishWithRetry,
  resolveSubscribeOptions,
  type SubscribeOptions,
  type Subscriber,
  startTimer,
} from "tsmicro/plugin";
import { openRedis, type RedisConnectionOptions, ready, sleep } from "./connection.js";
import { resolveRedisBrokerOptions } from "./options.js";

export interface RedisBrokerOptions extends BrokerOptions, RedisConnectionOptions {
  /** Prefix of the stream key (or channel) of each topic. @default "tsmicro:" */
  keyPrefix?: string;
  /** Approximate cap on each stream's length (`XADD MAXLEN ~`); older entries are trimmed. @default 100000 */
  maxLen?: number;
  /** An entry left unacked this long by a member (its process died) is delivered to another. @default 30000 */
  claimIdleMs?: number;
  /** How often a subscription looks for such entries. @default min(claimIdleMs / 2, 5000) */
  claimIntervalMs?: number;
  /** Entries read per round trip. @default 128 */
  prefetch?: number;
  /** Bound on waiting for Redis when subscribing. @default 10000 */
  connectTimeoutMs?: number;
}

export { DEFAULT_REDIS_BROKER_OPTIONS } from "./options.js";

const BLOCK_MS = 1000;
/** Most entry ids in one XACK. */
const MAX_ACK_BATCH = 512;

export function createRedisBroker(given: RedisBrokerOptions = {}): Broker {
  const options = resolveRedisBrokerOptions(given);
  const o = options;
  const claimEveryMs = o.claimIntervalMs;
  const name = `redis streams (${o.url})`;
  const onError = errorSink(options);
  const active = new Set<{ stop: () => Promise<void> }>();
  let cmd: Redis | undefined;
  let closed = false;
  const redis = () => {
    if (cmd === undefined) {
      cmd = openRedis(o, "broker");
      cmd.on("error", () => {}); // reported through the commands that fail
    }
    return cmd;
  };

  const publish = (topic: string, message: Message, opts?: PublishOptions): Promise<void> => {
    const r = redis();
    return publishWithRetry({ broker: name, topic, message, options: opts, closed }, async (_n, deadline) => {
      if (r.status !== "ready") {
        deadline.setPhase("waiting for the Redis connection");
        await ready(r, deadline.signal, name);
      }
      deadline.setPhase("waiting for XADD");
      await r.call(
        "XADD",
        o.keyPrefix + topic,
        "MAXLEN",
        "~",
        o.maxLen,
        "*",
        "h",
        JSON.stringify(message.headers),
        "b",
        Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
      );
    });
  };

  const subscribe = async (
    topic: string,
    handler: BrokerHandler,
    opts?: SubscribeOptions,
  ): Promise<Subscriber> => {
    const resolved = resolveSubscribeOptions(topic, opts, name);
    if (closed) throw notConnected(name, `subscribe to "${topic}"`);
    const r = redis();
    await ready(
      r,
      timeoutSignal(
        o.connectTimeoutMs,
        `broker ${name}: Redis not reachable within ${o.connectTimeoutMs} ms`,
      ),
      name,
    );
    const key = o.keyPrefix + topic;
    const group = resolved.queue ?? `b-${randomUUID()}`;
    const consumer = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    await r.call("XGROUP", "CREATE", key, group, "$", "MKSTREAM").catch((err: Error) => {
      if (!/BUSYGROUP/.test(err.message)) throw err;
    });
    const reader = r.duplicate();
    reader.on("error", () => {});
    let stopped = false;
    const ctx = { options: resolved, handler, publish, onError, broker: name };

    // Acks made in one tick go out as one XACK: one command per batch read, not one per entry
    // (the per-entry XACK was a third of the subscriber's CPU in the messaging bench's profile).
    // Pipelined, not awaited, as before: a lost ack means one more delivery, never a lost message.
    let acks: string[] = [];
    const flushAcks = () => {
      const ids = acks;
      acks = [];
      if (ids.length === 0) return;
      r.call("XACK", key, group, ...ids).catch((err: Error) =>
        onError(new Error(`${name}: XACK of ${ids.length} entries from ${ids[0]}: ${err.message}`)),
      );
    };
    const ack = (id: string) => {
      if (acks.push(id) === 1) process.nextTick(flushAcks);
      else if (acks.length >= MAX_ACK_BATCH) flushAcks();
    };

    // One entry: deliver, and while the handler asks for another try, claim it again for this
    // consumer (which counts a delivery in Redis) and deliver again.
    const handle = async (id: string, fields: Buffer[] | null, attempt: number) => {
      const again: { next?: { delayMs: number } } = {};
      const first = parse(fields);
      for (let message = first; message !== undefined && !stopped; ) {
        again.next = undefined;
        let inLoop = true;
        await deliver({ topic, message, attempt }, ctx, {
          durable: true,
          ack: async () => ack(id),
          retry: async (_attempt, delayMs) => {
            // After the handler returned (a late nack) the entry stays pending: claimed after claimIdleMs.
            if (inLoop) again.next = { delayMs };
          },
        });
        inLoop = false;
        // (A cast: TypeScript cannot see that deliver() ran the retry callback.)
        const next = again.next as { delayMs: number } | undefined;
        if (next === undefined) return;
        await sleep(next.delayMs);
        if (stopped) return;
        const claimed = (await r.callBuffer("XCLAIM", key, group, consumer, 0, id)) as [
          Buffer,
          Buffer[] | null,
        ][];
        if (claimed.length === 0) return; // trimmed or deleted meanwhile
        attempt = await deliveries(r, key, group, id, attempt + 1);
        message = parse(claimed[0]![1]);
      }
      if (first === undefined) {
        // Deleted (trimmed) while pending, or not written by tsmicro: say so, clear it from the pending list.
        onError(
          new Error(
            `broker ${name}: entry ${id} on "${topic}" ${fields === null ? "was trimmed before delivery" : "is not a tsmicro message"}; skipped`,
          ),
        );
        await r.call("XACK", key, group, id).catch(() => {});
      }
    };

    const loop = async () => {
      let nextClaim = 0;
      let cursor = "0-0";
      while (!stopped) {
        try {
          await ready(reader, undefined, name);
          if (Date.now() >= nextClaim) {
            // Entries that members which died left unacked.
            const [nextCursor, entries] = (await r.callBuffer(
              "XAUTOCLAIM",
              key,
              group,
              consumer,
              o.claimIdleMs,
              cursor,
              "COUNT",
              o.prefetch,
            )) as [Buffer, [Buffer, Buffer[] | null][]];
            cursor = nextCursor.toString();
            if (cursor === "0-0") nextClaim = Date.now() + claimEveryMs;
            for (const [id, fields] of entries) {
              if (stopped) break;
              const sid = id.toString();
              await handle(sid, fields, await deliveries(r, key, group, sid, 2));
            }
          }
          const res = (await reader.callBuffer(
            "XREADGROUP",
            "GROUP",
            group,
            consumer,
            "COUNT",
            o.prefetch,
            "BLOCK",
            Math.min(BLOCK_MS, claimEveryMs),
            "STREAMS",
            key,
            ">",
          )) as StreamReply | null;
          for (const [, entries] of streamsOf(res)) {
            for (const [id, fields] of entries) {
              if (stopped) break;
              await handle(id.toString(), fields, 1);
            }
          }
        } catch (err) {
          if (stopped) break;
          const e = err as Error;
          if (/NOGROUP/.test(e.message)) {
            // The stream or group was deleted under us: recreate it and go on.
            await r.call("XGROUP", "CREATE", key, group, "$", "MKSTREAM").catch(() => {});
          } else if (!/Connection is closed|Stream isn't writeable|ECONNRESET|ECONNREFUSED/.test(e.message)) {
            onError(new Error(`broker ${name}: reading "${topic}": ${e.message}`));
          }
          await sleep(100);
        }
      }
    };
    const done = loop();
    const entry = {
      stop: async () => {
        stopped = true;
        reader.disconnect(); // interrupts the blocking read
        await done;
        if (resolved.queue === undefined) {
          await r.call("XGROUP", "DESTROY", key, group).catch(() => {});
        } else {
          // A consumer with entries still pending keeps them for XAUTOCLAIM; an empty one is removed.
          const summary = (await r
            .call("XPENDING", key, group, "-", "+", 1, consumer)
            .catch(() => [1])) as unknown[];
          if (summary.length === 0)
            await r.call("XGROUP", "DELCONSUMER", key, group, consumer).catch(() => {});
        }
      },
    };
    active.add(entry);
    return {
      topic,
      queue: resolved.queue,
      async unsubscribe() {
        if (!active.delete(entry)) return;
        await entry.stop();
      },
    };
  };

  return {
    name,
    async connect() {
      closed = false;
      await ready(
        redis(),
        timeoutSignal(
          o.connectTimeoutMs,
          `broker ${name}: Redis not reachable within ${o.connectTimeoutMs} ms`,
        ),
        name,
      );
    },
    async disconnect() {
      if (closed) return;
      closed = true;
      const all = [...active];
      active.clear();
      await Promise.all(all.map((a) => a.stop()));
      const c = cmd;
      cmd = undefined;
      if (c !== undefined) await c.quit().catch(() => c.disconnect());
    },
    publish,
    subscribe,
  };
}

type Entries = [Buffer, Buffer[] | null][];
type StreamReply = [Buffer, Entries][] | [Buffer, Entries];

/** XREADGROUP's reply: a list of [key, entries], which ioredis 6 flattens for one stream. */
function streamsOf(res: StreamReply | null): [Buffer, Entries][] {
  if (res === null || res.length === 0) return [];
  return Buffer.isBuffer(res[0]) ? [res as [Buffer, Entries]] : (res as [Buffer, Entries][]);
}

function parse(fields: Buffer[] | null): Message | undefined {
  if (fields === null) return undefined;
  let headers: Record<string, string> | undefined;
  let body: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const f = fields[i]!.toString();
    if (f === "h") {
      try {
        headers = JSON.parse(fields[i + 1]!.toString());
      } catch {
        return undefined;
      }
    } else if (f === "b") body = fields[i + 1]!;
  }
  return headers === undefined || body === undefined ? undefined : { headers, body };
}

/** How many times Redis has delivered entry `id` to this group (at least `floor`). */
async function deliveries(r: Redis, key: string, group: string, id: string, floor: number): Promise<number> {
  const rows = (await r.call("XPENDING", key, group, id, id, 1).catch(() => [])) as [
    string,
    string,
    number,
    number,
  ][];
  const n = Number(rows[0]?.[3]);
  return Number.isFinite(n) && n > 0 ? Math.max(n, floor) : floor;
}

function timeoutSignal(ms: number, detail: string): AbortSignal {
  const c = new AbortController();
  startTimer(() => c.abort(new MicroError({ id: "tsmicro", code: 503, detail, retryable: true })), ms, true);
  return c.signal;
}
