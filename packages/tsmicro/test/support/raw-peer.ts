/** A raw TCP peer for limit and fuzz tests: writes whatever bytes it is told, records frames and close. */
import { connect, type Socket } from "node:net";
import { encodeFrame, type Frame, FrameDecoder, FrameType, PREFACE } from "../../src/transport/frame.js";
import { encodeRequestHeaders } from "../../src/transport/headers.js";

export interface RawPeer {
  readonly socket: Socket;
  readonly frames: Frame[];
  /** True once the server closed or reset the connection. */
  readonly closed: boolean;
  readonly closedAt: number | undefined;
  /** Resolves when the connection closes, or rejects after `ms` naming `what`. */
  waitClosed(ms: number, what: string): Promise<void>;
}

/** `halfOpen`: the peer never answers the server's FIN with its own (a peer that hangs around). */
export async function openRaw(address: string, o: { halfOpen?: boolean } = {}): Promise<RawPeer> {
  const i = address.lastIndexOf(":");
  const socket = connect({
    host: address.slice(0, i),
    port: Number(address.slice(i + 1)),
    allowHalfOpen: o.halfOpen ?? false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const frames: Frame[] = [];
  const decoder = new FrameDecoder(64 * 1024 * 1024, { frame: (f) => frames.push(f), oversized: () => {} });
  let closedAt: number | undefined;
  const closed = new Promise<void>((resolve) =>
    socket.once("close", () => {
      closedAt = Date.now();
      resolve();
    }),
  );
  socket.on("error", () => {});
  socket.on("data", (chunk: Buffer) => {
    try {
      decoder.push(chunk);
    } catch {
      /* a test peer does not care */
    }
  });
  return {
    socket,
    frames,
    get closed() {
      return closedAt !== undefined;
    },
    get closedAt() {
      return closedAt;
    },
    waitClosed: (ms, what) => within(closed, ms, what),
  };
}

/** `p`, or a rejection after `ms` that says what was waited for. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `cond` every 10 ms until true, or fails after `ms` naming `what`. */
export async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A complete request frame for `service.endpoint` with a JSON body. */
export function requestFrame(id: number, service: string, endpoint: string, body: unknown = {}): Buffer {
  const header = encodeRequestHeaders({ service, endpoint, contentType: "application/json" });
  return encodeFrame(FrameType.Request, id, header, Buffer.from(JSON.stringify(body)));
}

/** The error carried by an Error frame. */
export function frameError(f: Frame): { code: number; detail: string } {
  return JSON.parse(f.body.toString("utf8")) as { code: number; detail: string };
}

export { encodeFrame, FrameType, PREFACE };
