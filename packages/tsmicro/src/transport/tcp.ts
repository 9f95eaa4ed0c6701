/** The default transport: TCP, length-prefixed frames, multiplexed (see frame.ts). */
import { connect } from "node:net";
import { MicroError, serviceUnavailable, timeout } from "../errors.js";
import { markTransportFailure } from "./failure.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./frame.js";
import { DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_METADATA_ENTRIES } from "./headers.js";
import { TcpConnection } from "./tcp-connection.js";
import { listenTcp, parseAddress } from "./tcp-server.js";
import type { Connection, DialOptions, Transport } from "./transport.js";

export interface TcpTransportOptions {
  /** Largest frame sent or accepted, in bytes. @default 4 MiB */
  maxFrameBytes?: number;
  /** Largest request header accepted, in bytes. @default 64 KiB */
  maxHeaderBytes?: number;
  /** Most metadata entries accepted on one request. @default 128 */
  maxMetadataEntries?: number;
  /** Where refused connections are reported. @default console.warn */
  log?: (message: string) => void;
}

export const DEFAULT_TCP_OPTIONS = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  maxMetadataEntries: DEFAULT_MAX_METADATA_ENTRIES,
  log: (message: string) => console.warn(message),
} satisfies Required<TcpTransportOptions>;

export function createTcpTransport(options: TcpTransportOptions = {}): Transport {
  const opts = { ...DEFAULT_TCP_OPTIONS, ...options };
  return {
    name: "tcp",
    dial: (address, dialOptions) => dialTcp(address, dialOptions, opts.maxFrameBytes),
    listen: (address, handler) => listenTcp(address, handler, opts),
  };
}

function dialTcp(address: string, options: DialOptions, maxFrameBytes: number): Promise<Connection> {
  const { host, port } = parseAddress(address);
  return new Promise<Connection>((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (err: MicroError) => {
      cleanup();
      socket.destroy();
      reject(markTransportFailure(err));
    };
    const onError = (err: Error) =>
      fail(serviceUnavailable(address, `dial tcp ${address}: ${err.message}`, { cause: err }));
    const onAbort = () => fail(MicroError.from(options.signal?.reason));
    const timer = setTimeout(
      () => fail(timeout(address, `dial tcp ${address}: no connection after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("error", onError);
      options.signal?.removeEventListener("abort", onAbort);
    };
    socket.once("error", onError);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      cleanup();
      resolve(new TcpConnection(socket, address, maxFrameBytes));
    });
  });
}
