/**
 * One TCP socket speaking go-micro's HTTP transport from the client's side. Unary requests
 * go through `exchange`, which matches each response to its request by `Micro-Id` (go-micro
 * echoes it; a response without a known id goes to the oldest request); streams `read` the
 * responses in order. A tsmicro server marks its responses with `Tsmicro-Multiplex`, after
 * which the socket may carry many requests at once.
 */
import { connect, type Socket } from "node:net";
import { MicroError, serviceUnavailable, timeout } from "tsmicro";
import { markTransportFailure, parseAddress, startTimer, stopTimer } from "tsmicro/plugin";
import { encodeRequest, type Http1Limits, Http1Reader, type HttpMessage } from "./http1.js";

export class WireSocket {
  readonly #socket: Socket;
  readonly #reader: Http1Reader;
  readonly #queue: HttpMessage[] = [];
  #waiter: { resolve: (m: HttpMessage) => void; reject: (e: MicroError) => void } | undefined;
  #error: MicroError | undefined;
  readonly #pending = new Map<
    string,
    { resolve: (m: HttpMessage) => void; reject: (e: MicroError) => void }
  >();
  /** The peer answered with `Tsmicro-Multiplex`: requests may share this socket. */
  multiplexed = false;
  readonly address: string;
  readonly closed: Promise<void>;

  private constructor(socket: Socket, address: string, limits: Http1Limits) {
    this.#socket = socket;
    this.address = address;
    this.#reader = new Http1Reader(limits, `response from ${address}`);
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      let messages: HttpMessage[];
      try {
        messages = this.#reader.push(chunk);
      } catch (err) {
        this.destroy(MicroError.from(err));
        return;
      }
      for (const m of messages) {
        if (m.headers[MULTIPLEX_HEADER]) this.multiplexed = true;
        if (this.#pending.size > 0) {
          const id = m.headers["Micro-Id"];
          const key = id !== undefined && this.#pending.has(id) ? id : this.#pending.keys().next().value!;
          const p = this.#pending.get(key)!;
          this.#pending.delete(key);
          p.resolve(m);
          continue;
        }
        const w = this.#waiter;
        if (w) {
          this.#waiter = undefined;
          w.resolve(m);
        } else this.#queue.push(m);
      }
    });
    socket.on("error", (err) => this.destroy(lost(address, err.message)));
    socket.on("close", () => this.destroy(lost(address, "connection closed")));
  }

  static open(
    address: string,
    limits: Http1Limits,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<WireSocket> {
    const { host, port } = parseAddress(address);
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const fail = (err: MicroError) => {
        cleanup();
        socket.destroy();
        reject(markTransportFailure(err));
      };
      const onError = (err: Error) =>
        fail(serviceUnavailable(address, `dial ${address}: ${err.message}`, { cause: err }));
      const onAbort = () => fail(MicroError.from(signal?.reason));
      // On the deadline helper: Infinity means no dial deadline, beyond 2^31−1 ms is chained.
      const timer = startTimer(
        () => fail(timeout(address, `dial ${address}: no connection after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const cleanup = () => {
        stopTimer(timer);
        socket.off("error", onError);
        signal?.removeEventListener("abort", onAbort);
      };
      socket.once("error", onError);
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.once("connect", () => {
        cleanup();
        resolve(new WireSocket(socket, address, limits));
      });
    });
  }

  get usable(): boolean {
    return this.#error === undefined;
  }

  /** Writes one message; resolves when the socket took it (a slow peer slows the writer). */
  write(bytes: Buffer): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (err) =>
        err ? reject(this.#error ?? lost(this.address, err.message)) : resolve(),
      );
    });
  }

  /** Requests waiting for their response on this socket. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Sends one request with `Micro-Id: id` and resolves with its response. */
  exchange(bytes: Buffer, id: string): Promise<HttpMessage> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.write(bytes).catch((err) => {
        this.#pending.delete(id);
        reject(err);
      });
    });
  }

  /** Forgets a request (its response, if it comes, is dropped) and tells the tsmicro peer to cancel it. */
  forget(id: string, reason: string): void {
    if (!this.#pending.delete(id) || this.#error) return;
    const headers = { [CANCEL_HEADER]: reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 200), "Micro-Id": id };
    this.write(encodeRequest(this.address, headers, new Uint8Array())).catch(() => {});
  }

  /** The next message from the server. */
  read(): Promise<HttpMessage> {
    const m = this.#queue.shift();
    if (m) return Promise.resolve(m);
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  destroy(err: MicroError = lost(this.address, "closed")): void {
    if (this.#error) return;
    this.#error = err;
    this.#socket.destroy();
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(err);
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

/** Set by tsmicro servers on their answers: the socket may carry concurrent requests. */
export const MULTIPLEX_HEADER = "Tsmicro-Multiplex";
/** A request that only asks whether the peer multiplexes (a go-micro server answers "unknown service"). */
export const PROBE_HEADER = "Tsmicro-Probe";
/** Sent (to tsmicro peers only) when a caller gives up on a request that shares a socket. */
export const CANCEL_HEADER = "Tsmicro-Cancel";

/**
 * Asks the peer, once per connection, whether it multiplexes: a tsmicro server answers at
 * once with MULTIPLEX_HEADER; a go-micro server answers with an error, and the socket stays
 * one request at a time.
 */
export async function probe(socket: WireSocket, timeoutMs: number): Promise<void> {
  const id = `probe-${Math.random().toString(36).slice(2)}`;
  const headers = {
    [PROBE_HEADER]: "1",
    "Content-Type": "application/json",
    "Micro-Id": id,
    "Micro-Service": "tsmicro",
    "Micro-Endpoint": "Tsmicro.Probe",
    "Micro-Method": "Tsmicro.Probe",
  };
  let timer: ReturnType<typeof startTimer>;
  try {
    await Promise.race([
      socket.exchange(encodeRequest(socket.address, headers, new Uint8Array()), id),
      new Promise((_, reject) => {
        timer = startTimer(
          () =>
            reject(
              markTransportFailure(
                timeout(
                  socket.address,
                  `dial ${socket.address}: no answer to the first request within ${timeoutMs} ms`,
                ),
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    stopTimer(timer);
  }
}

function lost(address: string, why: string): MicroError {
  return markTransportFailure(serviceUnavailable(address, `go-micro transport to ${address}: ${why}`));
}
