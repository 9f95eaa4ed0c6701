/**
 * tsmicro's client end of go-micro's HTTP transport. go-micro answers one request at a time
 * per socket, so a connection here is a group of sockets to one address: a request takes an
 * idle socket or opens one, and never waits for another call's socket (the multiplexing
 * tsmicro's pool relies on). Idle sockets are kept up to a bound, the rest closed. Once a
 * socket's peer says it is tsmicro (`Tsmicro-Multiplex`), every request shares that socket,
 * matched by `Micro-Id`, as on tsmicro's own transport.
 */
import { MicroError } from "tsmicro";
import type { Connection, RequestHeaders, TransportRequest, TransportResponse } from "tsmicro/plugin";
import { ClientWireStream } from "./client-stream.js";
import {
  JSON_RPC,
  PROTO_RPC,
  unwrapJsonRpcResponse,
  unwrapProtoRpcResponse,
  wrapJsonRpcRequest,
  wrapProtoRpcRequest,
} from "./envelope.js";
import { errorFromHeader, H, requestHeadersOut } from "./headers.js";
import { encodeRequest, type HttpMessage } from "./http1.js";
import type { ResolvedWireOptions } from "./options.js";
import { WireSocket } from "./socket.js";

type SignalLike = Parameters<Connection["request"]>[1];

let seq = 0;
/** Ids for Micro-Id and Micro-Stream, unique per process as go-micro's client's sequence. */
export const nextId = () => String(seq++);

export class GoMicroConnection implements Connection {
  readonly address: string;
  readonly createdAt = Date.now();
  readonly closed: Promise<void>;
  #inflight = 0;
  #closing = false;
  readonly #idle: WireSocket[] = [];
  readonly #busy = new Set<WireSocket>();
  /** A socket whose peer multiplexes: shared by every request. */
  #shared: WireSocket | undefined;
  readonly #opts: ResolvedWireOptions;
  #resolveClosed!: () => void;

  constructor(address: string, first: WireSocket, opts: ResolvedWireOptions) {
    this.address = address;
    this.#opts = opts;
    if (first.multiplexed) this.#shared = first;
    else this.#idle.push(first);
    this.closed = new Promise((r) => {
      this.#resolveClosed = r;
    });
  }

  get inflight(): number {
    return this.#inflight;
  }

  get usable(): boolean {
    return !this.#closing;
  }

  async request(request: TransportRequest, signal: SignalLike): Promise<TransportResponse> {
    if (this.#closing) throw closedError(this.address);
    if (signal.aborted) throw MicroError.from(signal.reason);
    this.#inflight++;
    const id = nextId();
    const shared = this.#shared?.usable ? this.#shared : undefined;
    let socket: WireSocket | undefined = shared;
    // One request per socket: cancelling closes it (the server sees the caller leave). A shared
    // socket stays: the request is forgotten and its answer dropped.
    const onAbort = () =>
      shared
        ? shared.forget(id, MicroError.from(signal.reason).detail)
        : socket?.destroy(MicroError.from(signal.reason));
    let abortRejection: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      abortRejection = () => reject(MicroError.from(signal.reason));
    });
    aborted.catch(() => {});
    const abort = () => {
      onAbort();
      abortRejection?.();
    };
    signal.addEventListener("abort", abort, { once: true });
    try {
      socket ??= await this.#take(signal);
      const h = request.headers;
      // proto-rpc and JSON-RPC: the body travels in go-micro's envelope (with the method).
      const proto = h.contentType === PROTO_RPC;
      const json = h.contentType === JSON_RPC;
      const body = proto
        ? wrapProtoRpcRequest(`${h.endpoint}`, request.body)
        : json
          ? wrapJsonRpcRequest(`${h.endpoint}`, request.body, id)
          : request.body;
      const bytes = encodeRequest(this.address, requestHeadersOut(h, id), body);
      const m = await Promise.race([socket.exchange(bytes, id), aborted]);
      const r = responseOf(m, h, this.address);
      if (proto) return { ...r, contentType: PROTO_RPC, body: unwrapProtoRpcResponse(r.body, h.service) };
      if (json) return { ...r, contentType: JSON_RPC, body: unwrapJsonRpcResponse(r.body, h.service) };
      return r;
    } catch (err) {
      if (signal.aborted) throw MicroError.from(signal.reason);
      throw MicroError.from(err, "go.micro.client");
    } finally {
      signal.removeEventListener("abort", abort);
      this.#inflight--;
      if (socket && socket !== shared) this.#give(socket);
      else if (this.#closing) this.#settle();
    }
  }

  stream(headers: RequestHeaders, signal: AbortSignal): ClientWireStream {
    if (this.#closing) throw closedError(this.address);
    // go-micro's client dials a socket of its own for every stream; so does this.
    return new ClientWireStream(headers, signal, this.address, nextId(), () =>
      WireSocket.open(this.address, this.#opts, this.#opts.dialTimeoutMs, signal),
    );
  }

  close(graceful = true): void {
    if (this.#closing) return;
    this.#closing = true;
    for (const s of this.#idle.splice(0)) s.destroy();
    if (!graceful) {
      for (const s of this.#busy) s.destroy();
      this.#shared?.destroy();
    }
    this.#settle();
  }

  #settle(): void {
    if (!this.#closing || this.#busy.size > 0 || (this.#shared?.pending ?? 0) > 0) return;
    this.#shared?.destroy();
    this.#resolveClosed();
  }

  async #take(signal: SignalLike): Promise<WireSocket> {
    for (;;) {
      const s = this.#idle.pop();
      if (s === undefined) break;
      if (s.usable) {
        this.#busy.add(s);
        return s;
      }
    }
    const s = await WireSocket.open(
      this.address,
      this.#opts,
      this.#opts.dialTimeoutMs,
      signal as AbortSignal,
    );
    this.#busy.add(s);
    return s;
  }

  #give(s: WireSocket): void {
    this.#busy.delete(s);
    if (!this.#closing && s.usable && s.multiplexed && !this.#shared?.usable) this.#shared = s;
    else if (!this.#closing && s.usable && this.#idle.length < this.#opts.maxIdleSockets) this.#idle.push(s);
    else s.destroy();
    this.#settle();
  }
}

function closedError(address: string): MicroError {
  return new MicroError({
    id: "go.micro.client",
    code: 503,
    detail: `go-micro transport to ${address}: connection closed`,
  });
}

/** A go-micro server's answer as tsmicro's response, or the error it carries. */
export function responseOf(m: HttpMessage, req: RequestHeaders, address: string): TransportResponse {
  const err = m.headers[H.error];
  if (err) throw errorFromHeader(err, req.service);
  if (m.status !== 200) {
    throw new MicroError({
      id: "go.micro.client",
      code: m.status >= 400 ? m.status : 502,
      detail: `${req.service}.${req.endpoint} at ${address} answered HTTP ${m.start}: ${m.body.toString("utf8").slice(0, 500)}`,
    });
  }
  return { contentType: m.headers[H.contentType] || req.contentType, body: m.body };
}
