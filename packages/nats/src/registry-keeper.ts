/**
 * The nodes one NATS registry holds: every `hold` writes the node (a write is also its
 * refresh). After a failed write, or when the connection comes back, every node still
 * meant to be alive (last `hold` within its TTL) is written again, retrying with back-off
 * until NATS takes them.
 */
import { type DeadlineTimer, startTimer, stopTimer } from "tsmicro/plugin";

interface Held {
  value: string;
  /** Until when the owner wants this node alive: its last `hold` plus its TTL. */
  wantedUntil: number;
}

export interface NodeKeeper {
  hold(key: string, value: string, ttlMs: number): Promise<void>;
  /** Forget the node: it is not written again. */
  release(key: string): void;
  /** Write every held node again now (after a reconnect). */
  rewriteAll(): void;
  close(): void;
}

const MAX_RETRY_MS = 5000;

export function createNodeKeeper(options: {
  reconnectMs: number;
  write: (key: string, value: string) => Promise<void>;
}): NodeKeeper {
  const held = new Map<string, Held>();
  let timer: DeadlineTimer;
  let delay = options.reconnectMs;
  let closed = false;

  const schedule = (ms: number) => {
    if (timer !== undefined || closed) return;
    timer = startTimer(() => void rewrite(), ms, true);
  };

  const rewrite = async () => {
    timer = undefined;
    const now = Date.now();
    const due = [...held].filter(([, h]) => h.wantedUntil > now);
    const results = await Promise.allSettled(
      due.map(([key, h]) => (held.get(key) === h ? options.write(key, h.value) : Promise.resolve())),
    );
    if (results.some((r) => r.status === "rejected")) {
      delay = Math.min(MAX_RETRY_MS, delay * 2);
      schedule(delay);
    } else {
      delay = options.reconnectMs;
    }
  };

  return {
    async hold(key, value, ttlMs) {
      held.set(key, { value, wantedUntil: ttlMs > 0 ? Date.now() + ttlMs : Number.POSITIVE_INFINITY });
      try {
        await options.write(key, value);
      } catch (err) {
        schedule(delay);
        throw err;
      }
    },
    release(key) {
      held.delete(key);
    },
    rewriteAll() {
      stopTimer(timer);
      timer = undefined;
      schedule(0);
    },
    close() {
      closed = true;
      stopTimer(timer);
      held.clear();
    },
  };
}
