/**
 * One TCP socket speaking go-micro's HTTP transport from the client's side: it writes
 * requests and hands each response, in order, to whoever waits for the next one.
 */
import { connect, type Socket } from "node:net";
import { MicroError, markTransportFailure, parseAddress, serviceUnavailable, timeout } from "tsmicro";
import { type Http1Limits, Http1Reader, type HttpMessage } from "./http1.js";

export class WireSocket {
  readonly #socket: Socket;
  readonly #reader: Http1Reader;
  readonly #queue: HttpMessage[] = [];
  #waiter: { resolve: (m: HttpMessage) => void; reject: (e: MicroError) => void } | undefined;
  #error: MicroError | undefined;
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
      const timer = setTimeout(
        () => fail(timeout(address, `dial ${address}: no connection after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const cleanup = () => {
        clearTimeout(timer);
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
  }
}

function lost(address: string, why: string): MicroError {
  return markTransportFailure(serviceUnavailable(address, `go-micro transport to ${address}: ${why}`));
}
