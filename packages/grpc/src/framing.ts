/**
 * gRPC message framing: a 1-byte compressed flag, a 4-byte big-endian length, the message.
 * The decoder is incremental (messages may span DATA frames) and refuses a message over the
 * limit from its prefix, before buffering it.
 */
import type { Writable } from "node:stream";

export function frameMessage(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

/** Above this a message goes out as prefix + body in two writes instead of being copied behind its prefix. */
const COPY_LIMIT = 16 * 1024;

/**
 * Writes one framed message to an HTTP/2 stream; returns what `write` returns (false: wait for
 * "drain"). The writes of one tick are corked into one, as the TCP transport's FrameWriter does:
 * a burst of small messages becomes one DATA frame, not one each.
 */
export function writeMessage(stream: Writable, body: Uint8Array): boolean {
  if (stream.writableCorked === 0) {
    stream.cork();
    process.nextTick(uncork, stream);
  }
  if (body.length <= COPY_LIMIT) return stream.write(frameMessage(body));
  const prefix = Buffer.allocUnsafe(5);
  prefix[0] = 0;
  prefix.writeUInt32BE(body.length, 1);
  stream.write(prefix);
  return stream.write(body);
}

function uncork(stream: Writable): void {
  stream.uncork();
}

export class MessageTooLarge extends Error {}
export class CompressedMessage extends Error {}

export class MessageDecoder {
  #parts: Buffer[] = [];
  #length = 0;
  readonly #max: number;

  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes;
  }

  /** Complete messages in `chunk` (and before it); throws on an oversized or compressed one. */
  push(chunk: Buffer, out: (message: Buffer) => void): void {
    this.#parts.push(chunk);
    this.#length += chunk.length;
    while (this.#length >= 5) {
      let buf = this.#parts[0]!;
      if (buf.length < 5) {
        buf = Buffer.concat(this.#parts, this.#length);
        this.#parts = [buf];
      }
      if (buf[0] !== 0)
        throw new CompressedMessage("compressed messages are not supported (grpc-encoding identity only)");
      const size = buf.readUInt32BE(1);
      if (size > this.#max)
        throw new MessageTooLarge(`message of ${size} bytes exceeds the limit of ${this.#max} bytes`);
      if (this.#length < 5 + size) return;
      if (buf.length < 5 + size) {
        buf = Buffer.concat(this.#parts, this.#length);
        this.#parts = [buf];
      }
      out(buf.subarray(5, 5 + size));
      const rest = buf.subarray(5 + size);
      this.#parts[0] = rest;
      this.#length -= 5 + size;
      if (rest.length === 0) this.#parts.shift();
    }
  }

  /** Bytes of an incomplete message left over (a stream that ends here was cut short). */
  get pending(): number {
    return this.#length;
  }
}
