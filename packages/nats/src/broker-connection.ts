/**
 * What both NATS brokers need from the connection: whether it is up right now, a bounded
 * wait for it to come back, and headers converted both ways.
 */
import { type MsgHdrs, type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node";
import { MicroError } from "tsmicro";

/** Follows the connection's status events; `wait()` resolves once it is connected. */
export class ConnectionState {
  #up = true;
  #waiters: (() => void)[] = [];
  readonly #stop: () => void;

  constructor(nc: NatsConnection) {
    const iter = nc.status();
    let stopped = false;
    this.#stop = () => {
      stopped = true;
      (iter as { stop?: () => void }).stop?.();
    };
    void (async () => {
      for await (const s of iter) {
        if (stopped) break;
        if (s.type === "disconnect" || s.type === "reconnecting") this.#up = false;
        else if (s.type === "reconnect") {
          this.#up = true;
          this.#wake();
        } else if (s.type === "close") break;
      }
    })().catch(() => {});
  }

  get up(): boolean {
    return this.#up;
  }

  /** Resolves when connected; rejects with `signal.reason` if the signal aborts first. */
  wait(signal: AbortSignal): Promise<void> {
    if (this.#up) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        reject(signal.reason);
      };
      const done = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      this.#waiters.push(done);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  stop(): void {
    this.#stop();
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/** Resolves with the connection, or rejects with a 503 naming the servers (or the signal's reason). */
export async function openConnection(
  get: () => Promise<NatsConnection>,
  signal: AbortSignal | undefined,
  broker: string,
): Promise<NatsConnection> {
  const opening = get().catch((err: Error) => {
    throw new MicroError({
      id: "tsmicro",
      code: 503,
      detail: `broker ${broker}: cannot connect: ${err.message}`,
      retryable: true,
      cause: err,
    });
  });
  if (signal === undefined) return opening;
  if (signal.aborted) throw signal.reason;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    opening.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export function toNatsHeaders(h: Record<string, string>): MsgHdrs {
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

/** Lower-case names; NATS's own headers (Nats-Msg-Id, ...) are left out. */
export function fromNatsHeaders(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  for (const k of h.keys()) {
    const name = k.toLowerCase();
    if (name.startsWith("nats-")) continue;
    out[name] = h.get(k);
  }
  return out;
}
