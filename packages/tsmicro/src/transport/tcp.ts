/** The default transport: TCP, length-prefixed frames, multiplexed (see frame.ts). */
import { connect } from "node:net";
import type { TLSSocket } from "node:tls";
import { MicroError, serviceUnavailable, timeout } from "../errors.js";
import { startTimer, stopTimer } from "../util/deadline.js";
import { parseAddress } from "./address.js";
import { markTransportFailure } from "./failure.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./frame.js";
import { DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_METADATA_ENTRIES } from "./headers.js";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS, validateLimits } from "./limits.js";
import { TcpConnection } from "./tcp-connection.js";
import { listenTcp } from "./tcp-server.js";
import {
  awaitTlsAdmission,
  checkTlsOptions,
  connectTls,
  describeTlsClientError,
  describeTlsClosedAfterHandshake,
  type TcpTlsOptions,
  TLS_ADMISSION_WAIT_MS,
} from "./tls.js";
import type { Connection, DialOptions, Transport } from "./transport.js";

export interface TcpTransportOptions extends Partial<ConnectionLimits> {
  /**
   * TLS for both ends: `listen` serves TLS with `cert`/`key` (and demands client certificates
   * with `requireClientCert`); `dial` verifies the server against `ca` and `serverName`.
   * See TcpTlsOptions for each field's default.
   * @default undefined (plaintext)
   */
  tls?: TcpTlsOptions;
  /** Largest frame sent or accepted, in bytes. @default 4 MiB */
  maxFrameBytes?: number;
  /** Largest request header accepted, in bytes. @default 64 KiB */
  maxHeaderBytes?: number;
  /** Most metadata entries accepted on one request. @default 128 */
  maxMetadataEntries?: number;
  /** Where refused connections are reported. @default console.warn */
  log?: (message: string) => void;
  /**
   * Dialled connections with requests in flight ping a server they have heard nothing from
   * for this long, and fail (a retryable transport failure) after as long again without an
   * answer: a host whose link went down sends no RST. 0 = off. @default 0
   */
  keepaliveMs?: number;
}

export const DEFAULT_TCP_OPTIONS = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  maxMetadataEntries: DEFAULT_MAX_METADATA_ENTRIES,
  log: (message: string) => console.warn(message),
  keepaliveMs: 0,
  ...DEFAULT_CONNECTION_LIMITS,
} satisfies Required<Omit<TcpTransportOptions, "tls">>;

export function createTcpTransport(options: TcpTransportOptions = {}): Transport {
  const opts = { ...DEFAULT_TCP_OPTIONS, ...stripUndefined(options) };
  if (opts.tls !== undefined) checkTlsOptions(opts.tls, "tcp transport");
  validateLimits({
    maxConnections: opts.maxConnections,
    maxInflightPerConnection: opts.maxInflightPerConnection,
    handshakeTimeoutMs: opts.handshakeTimeoutMs,
    frameTimeoutMs: opts.frameTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs,
    maxWriteBufferBytes: opts.maxWriteBufferBytes,
  });
  return {
    name: "tcp",
    dial: (address, dialOptions) =>
      dialTcp(address, dialOptions, opts.maxFrameBytes, opts.tls, opts.keepaliveMs),
    listen: (address, handler, streamHandler) => listenTcp(address, handler, { ...opts, streamHandler }),
  };
}

function dialTcp(
  address: string,
  options: DialOptions,
  maxFrameBytes: number,
  tls: TcpTlsOptions | undefined,
  keepaliveMs: number,
): Promise<Connection> {
  const { host, port } = parseAddress(address);
  const started = Date.now();
  return new Promise<Connection>((resolve, reject) => {
    const socket = tls === undefined ? connect({ host, port }) : connectTls(host, port, tls);
    const fail = (err: MicroError) => {
      cleanup();
      socket.destroy();
      reject(markTransportFailure(err));
    };
    const onError = (err: Error) => {
      const detail = (tls && describeTlsClientError(err, address)) ?? err.message;
      fail(serviceUnavailable(address, `dial tcp ${address}: ${detail}`, { cause: err }));
    };
    const onAbort = () => fail(MicroError.from(options.signal?.reason));
    // On the deadline helper: Infinity means no dial deadline, beyond 2^31−1 ms is chained.
    const timer = startTimer(
      () => fail(timeout(address, `dial tcp ${address}: no connection after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const cleanup = () => {
      stopTimer(timer);
      socket.off("error", onError);
      options.signal?.removeEventListener("abort", onAbort);
    };
    socket.once("error", onError);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const ready = () => {
      cleanup();
      resolve(new TcpConnection(socket, address, maxFrameBytes, keepaliveMs));
    };
    if (tls === undefined) socket.once("connect", ready);
    else {
      socket.once("secureConnect", () => {
        const wait = Math.min(TLS_ADMISSION_WAIT_MS, options.timeoutMs - (Date.now() - started));
        void awaitTlsAdmission(socket as TLSSocket, wait).then((outcome) => {
          if (outcome === "admitted") return ready();
          const detail = describeTlsClosedAfterHandshake(address, tls.cert !== undefined);
          fail(serviceUnavailable(address, `dial tcp ${address}: ${detail}`));
        });
      });
    }
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
