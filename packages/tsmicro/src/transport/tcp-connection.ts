/** The client's end of a TCP connection: many requests in flight, matched by id. */
import type { Socket } from "node:net";
import { abortError, MicroError, payloadTooLarge, serviceUnavailable } from "../errors.js";
import { startInterval, stopInterval } from "../util/deadline.js";
import { markTransportFailure } from "./failure.js";
import { encodeFrame, FrameDecoder, FrameType, PREFACE, ProtocolError } from "./frame.js";
import { decodeResponseContentType, encodeRequestHeaders } from "./headers.js";
import { ClientStreams } from "./mux-stream.js";
import type {
  Connection,
  RequestHeaders,
  SignalLike,
  TransportRequest,
  TransportResponse,
  TransportStream,
} from "./transport.js";
import { FrameWriter } from "./writer.js";

interface Pending {
  resolve(response: TransportResponse): void;
  reject(error: MicroError): void;
}

const MAX_ID = 0xffff_ffff;

export class TcpConnection implements Connection {
  readonly address: string;
  readonly createdAt = Date.now();
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  readonly #writer: FrameWriter;
  readonly #pending = new Map<number, Pending>();
  readonly #streams: ClientStreams;
  readonly #maxFrameBytes: number;
  #nextId = 1;
  #usable = true;
  #closeWhenIdle = false;
  #closeReason: MicroError | undefined;
  #lastHeard = Date.now();
  #pingAt = 0;

  /** `keepaliveMs` > 0: see TcpTransportOptions.keepaliveMs. */
  constructor(socket: Socket, address: string, maxFrameBytes: number, keepaliveMs = 0) {
    this.address = address;
    this.#socket = socket;
    this.#maxFrameBytes = maxFrameBytes;
    this.#writer = new FrameWriter(socket);
    this.#streams = new ClientStreams(
      (frame) => this.#writer.write(frame),
      maxFrameBytes,
      address,
      () => this.#maybeCloseIdle(),
    );
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(maxFrameBytes, {
      frame: (f) => this.#onFrame(f.type, f.id, f.header, f.body),
      oversized: (type, id, length) =>
        type === FrameType.StreamMessage
          ? this.#streams.oversized(id, length)
          : this.#settle(
              id,
              payloadTooLarge(
                address,
                `response of ${length} bytes from ${address} exceeds the client's frame limit of ${maxFrameBytes} bytes`,
              ),
            ),
    });
    socket.on("data", (chunk: Buffer) => {
      this.#lastHeard = Date.now();
      this.#pingAt = 0;
      try {
        decoder.push(chunk);
      } catch (err) {
        const detail = err instanceof ProtocolError ? err.message : String(err);
        this.#fail(serviceUnavailable(address, `protocol error from ${address}: ${detail}`));
      }
    });
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        this.#fail(
          this.#closeReason ??
            markTransportFailure(serviceUnavailable(address, `connection to ${address} closed`)),
        );
        resolve();
      });
    });
    socket.on("error", (err) => {
      this.#closeReason ??= markTransportFailure(
        serviceUnavailable(address, `connection to ${address} failed: ${err.message}`, { cause: err }),
      );
    });
    this.#writer.write(PREFACE);
    if (keepaliveMs > 0) {
      const timer = startInterval(() => this.#keepalive(keepaliveMs), keepaliveMs, true);
      socket.once("close", () => stopInterval(timer));
    }
  }

  /**
   * A peer whose link went down sends no RST: requests on its socket would wait for their
   * whole deadline. With requests in flight and nothing heard for an interval, ping; silence
   * for another interval fails the connection as a transport failure (retried elsewhere).
   */
  #keepalive(intervalMs: number): void {
    const now = Date.now();
    if (this.inflight === 0 || now - this.#lastHeard < intervalMs) return;
    if (this.#pingAt === 0) {
      this.#pingAt = now;
      this.#writer.write(encodeFrame(FrameType.Ping, 0, "", EMPTY));
      return;
    }
    if (now - this.#pingAt < intervalMs) return;
    this.#closeReason ??= markTransportFailure(
      serviceUnavailable(
        this.address,
        `connection to ${this.address}: nothing heard for ${now - this.#lastHeard} ms, no answer to a ping, with ${this.inflight} request(s) in flight`,
      ),
    );
    this.#socket.destroy();
  }

  get inflight(): number {
    return this.#pending.size + this.#streams.size;
  }

  get usable(): boolean {
    return this.#usable;
  }

  request(req: TransportRequest, signal: SignalLike): Promise<TransportResponse> {
    if (!this.#usable) {
      return Promise.reject(
        markTransportFailure(
          serviceUnavailable(this.address, `connection to ${this.address} is closing`, { refused: true }),
        ),
      );
    }
    if (signal.aborted) return Promise.reject(abortError(signal.reason));
    const header = encodeRequestHeaders(req.headers);
    const frame = encodeFrame(FrameType.Request, 0, header, req.body);
    if (frame.length > this.#maxFrameBytes) {
      // Refused before it touches the socket: the connection stays good for everyone else.
      return Promise.reject(
        payloadTooLarge(
          req.headers.service,
          `request to ${req.headers.service}.${req.headers.endpoint} is ${frame.length} bytes, over the frame limit of ${this.#maxFrameBytes} bytes`,
          { retryable: false },
        ),
      );
    }
    const id = this.#allocateId();
    frame.writeUInt32BE(id, 5);
    return new Promise<TransportResponse>((resolve, reject) => {
      const onAbort = () => {
        if (this.#pending.delete(id)) {
          this.#writer.write(encodeFrame(FrameType.Cancel, id, "", EMPTY));
          reject(abortError(signal.reason));
          this.#maybeCloseIdle();
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (r) => {
          signal.removeEventListener("abort", onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      });
      this.#writer.write(frame);
    });
  }

  stream(headers: RequestHeaders, signal: AbortSignal): TransportStream {
    if (!this.#usable) {
      throw markTransportFailure(
        serviceUnavailable(this.address, `connection to ${this.address} is closing`, { refused: true }),
      );
    }
    return this.#streams.open(this.#allocateId(), headers, signal);
  }

  close(graceful = false): void {
    this.#usable = false;
    if (graceful && this.inflight > 0) {
      this.#closeWhenIdle = true;
      return;
    }
    this.#writer.end();
    // A peer that never answers the FIN must not keep the socket open forever.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #allocateId(): number {
    let id = this.#nextId;
    while (this.#pending.has(id) || this.#streams.has(id)) id = id === MAX_ID ? 1 : id + 1;
    this.#nextId = id === MAX_ID ? 1 : id + 1;
    return id;
  }

  #onFrame(type: FrameType, id: number, header: Buffer, body: Buffer): void {
    switch (type) {
      case FrameType.Response: {
        const p = this.#take(id);
        p?.resolve({ contentType: decodeResponseContentType(header), body });
        break;
      }
      case FrameType.Error: {
        const err = MicroError.parse(body.toString("utf8"));
        if (id === 0) {
          // Connection-level error: the server refuses this connection as a whole.
          this.#closeReason = err;
          this.#socket.destroy();
        } else {
          this.#settle(id, err);
        }
        break;
      }
      case FrameType.GoAway:
        // The server is draining: answers still come, new requests go elsewhere.
        this.#usable = false;
        this.#closeWhenIdle = true;
        this.#maybeCloseIdle();
        break;
      case FrameType.Ping:
        this.#writer.write(encodeFrame(FrameType.Pong, id, "", EMPTY));
        break;
      case FrameType.StreamMessage:
      case FrameType.StreamEnd:
        this.#streams.onFrame(type, id, header, body);
        break;
      default:
        break;
    }
  }

  #take(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (p !== undefined) {
      this.#pending.delete(id);
      this.#maybeCloseIdle();
    }
    return p;
  }

  #settle(id: number, err: MicroError): void {
    this.#take(id)?.reject(err);
  }

  #maybeCloseIdle(): void {
    if (this.#closeWhenIdle && this.inflight === 0) this.close(false);
  }

  #fail(err: MicroError): void {
    this.#usable = false;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(err);
    this.#streams.failAll(err);
    if (!this.#socket.destroyed) this.#socket.destroy();
  }
}

const EMPTY = new Uint8Array(0);
