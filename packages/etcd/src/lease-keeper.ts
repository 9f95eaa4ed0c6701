/**
 * The nodes one registry holds in etcd, each with its own lease. `hold` writes a node (or
 * only refreshes its lease when the value is unchanged); `release` deletes it and revokes
 * the lease. When etcd fails, the keeper keeps trying in the background and writes again
 * every node still meant to be alive (last `hold` within its TTL) as soon as etcd answers:
 * a restarted or wiped etcd gets its nodes back without waiting for the next refresh.
 */
import { EtcdLeaseInvalidError, type Lease, type Namespace } from "etcd3";
import { type DeadlineTimer, startTimer, stopTimer } from "tsmicro/plugin";
import { unavailable } from "./errors.js";

interface Held {
  key: string;
  value: string;
  ttlMs: number;
  /** Until when the owner wants this node alive: its last `hold` plus its TTL. */
  wantedUntil: number;
  lease: Lease | undefined;
  leaseTtlSec: number;
  /** The value etcd holds under `lease`, as far as this keeper knows. */
  written: string | undefined;
  /** Operations on one key run one after another (refresh, recovery, release). */
  queue: Promise<void>;
  released: boolean;
}

export interface LeaseKeeper {
  hold(key: string, value: string, ttlMs: number): Promise<void>;
  release(key: string): Promise<void>;
  close(): void;
}

const MAX_RECONNECT_MS = 5000;

export function createLeaseKeeper(
  ns: Namespace,
  options: { reconnectMs: number; describe: string },
): LeaseKeeper {
  const held = new Map<string, Held>();
  let retryTimer: DeadlineTimer;
  let retryDelay = options.reconnectMs;
  let closed = false;

  const write = async (h: Held): Promise<void> => {
    if (h.released || closed) return;
    // etcd leases are whole seconds: round up, so a node never expires before its TTL.
    const ttlSec = h.ttlMs > 0 ? Math.max(1, Math.ceil(h.ttlMs / 1000)) : 0;
    if (ttlSec === 0) {
      if (h.written !== h.value || h.lease !== undefined) await ns.put(h.key).value(h.value);
      const old = h.lease;
      h.lease = undefined;
      h.written = h.value;
      old?.revoke().catch(() => {});
      return;
    }
    if (h.lease !== undefined && h.leaseTtlSec === ttlSec) {
      try {
        await h.lease.keepaliveOnce();
        if (h.written !== h.value) {
          await h.lease.put(h.key).value(h.value);
          h.written = h.value;
        }
        return;
      } catch (err) {
        // A lost lease (expired, or etcd lost its data) gets replaced; anything else is a failure.
        if (!(err instanceof EtcdLeaseInvalidError)) throw err;
      }
    }
    const old = h.lease;
    const lease = ns.lease(ttlSec, { autoKeepAlive: false });
    try {
      await lease.put(h.key).value(h.value);
    } catch (err) {
      lease.release();
      throw err;
    }
    h.lease = lease;
    h.leaseTtlSec = ttlSec;
    h.written = h.value;
    // The key now hangs on the new lease: revoking the old one deletes nothing.
    old?.revoke().catch(() => {});
  };

  const enqueue = (h: Held, op: () => Promise<void>): Promise<void> => {
    const next = h.queue.then(op, op);
    h.queue = next.catch(() => {});
    return next;
  };

  const scheduleRetry = () => {
    if (retryTimer !== undefined || closed) return;
    retryTimer = startTimer(() => void retry(), retryDelay, true);
  };

  const retry = async () => {
    retryTimer = undefined;
    const now = Date.now();
    const due = [...held.values()].filter((h) => h.wantedUntil > now);
    const results = await Promise.allSettled(
      due.map((h) =>
        enqueue(h, () => {
          // Make sure the node is written again even if the keeper thought etcd had it.
          h.written = undefined;
          return write(h);
        }),
      ),
    );
    if (results.some((r) => r.status === "rejected")) {
      retryDelay = Math.min(MAX_RECONNECT_MS, retryDelay * 2);
      scheduleRetry();
    } else {
      retryDelay = options.reconnectMs;
    }
  };

  return {
    async hold(key, value, ttlMs) {
      let h = held.get(key);
      if (h === undefined) {
        h = {
          key,
          value,
          ttlMs,
          wantedUntil: 0,
          lease: undefined,
          leaseTtlSec: 0,
          written: undefined,
          queue: Promise.resolve(),
          released: false,
        };
        held.set(key, h);
      }
      h.value = value;
      h.ttlMs = ttlMs;
      h.wantedUntil = ttlMs > 0 ? Date.now() + ttlMs : Number.POSITIVE_INFINITY;
      const entry = h;
      try {
        await enqueue(entry, () => write(entry));
      } catch (err) {
        scheduleRetry();
        throw unavailable(`${options.describe} could not register ${key}`, err);
      }
    },
    async release(key) {
      const h = held.get(key);
      if (h !== undefined) {
        held.delete(key);
        h.released = true;
      }
      const lease = h?.lease;
      const remove = async () => {
        await ns.delete().key(key);
        await lease?.revoke();
      };
      try {
        await (h === undefined ? remove() : enqueue(h, remove));
      } catch (err) {
        throw unavailable(`${options.describe} could not deregister ${key}`, err);
      }
    },
    close() {
      closed = true;
      stopTimer(retryTimer);
      for (const h of held.values()) h.lease?.release();
      held.clear();
    },
  };
}
