/**
 * The TCP wire format. After an 8-byte preface from the client, both sides exchange frames:
 *
 *   u32 length (of everything after it) | u8 type | u32 id | u32 header length | header (JSON) | body
 *
 * Big-endian. A frame whose length exceeds the limit is skipped without being buffered,
 * so one oversized message costs its sender an error, not the connection.
 */

export const PREFACE = Buffer.from("TSMICRO\x01", "latin1");

export const FrameType = {
  Request: 1,
  Response: 2,
  Error: 3,
  Cancel: 4,
  GoAway: 5,
  StreamMessage: 6,
  StreamEnd: 7,
  Ping: 8,
  Pong: 9,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const MAX_TYPE = 9;
/** type + id + header length */
const FIXED = 9;

/** Default largest frame either side accepts: 4 MiB, as gRPC's default message limit. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

export interface Frame {
  type: FrameType;
  id: number;
  /** Raw header bytes (JSON) — parsed by the caller, which knows what it expects. */
  header: Buffer;
  body: Buffer;
}

export function encodeFrame(type: FrameType, id: number, header: string, body: Uint8Array): Buffer {
  const headerBytes = header.length === 0 ? 0 : Buffer.byteLength(header, "utf8");
  const total = 4 + FIXED + headerBytes + body.length;
  const buf = Buffer.allocUnsafe(total);
  buf.writeUInt32BE(total - 4, 0);
  buf[4] = type;
  buf.writeUInt32BE(id, 5);
  buf.writeUInt32BE(headerBytes, 9);
  if (headerBytes > 0) buf.write(header, 13, headerBytes, "utf8");
  if (body.length > 0) buf.set(body, 13 + headerBytes);
  return buf;
}

/** Size on the wire of a frame, without building it. */
export function frameSize(header: string, bodyLength: number): number {
  return 4 + FIXED + Buffer.byteLength(header, "utf8") + bodyLength;
}

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

export interface DecoderEvents {
  frame(frame: Frame): void;
  /** A frame over the limit was announced; its bytes are being skipped. */
  oversized(type: number, id: number, length: number): void;
}

/**
 * Incremental frame decoder. `push` throws ProtocolError on bytes that cannot be a frame
 * (the connection is then unusable and should be closed with a reason).
 */
export class FrameDecoder {
  /** Bytes of an incomplete frame, kept as chunks until `#need` bytes are there (no O(n²) concat). */
  #parts: Buffer[] = [];
  #partsLength = 0;
  #need = 0;
  #skip = 0;
  #completed = 0;
  readonly #max: number;
  readonly #events: DecoderEvents;

  constructor(maxFrameBytes: number, events: DecoderEvents) {
    this.#max = maxFrameBytes;
    this.#events = events;
  }

  /** Bytes held waiting for the rest of a frame (bounded by the frame limit). */
  get buffered(): number {
    return this.#partsLength;
  }

  /** Bytes of a frame begun and not finished, held or still to skip (the frame deadline reads it). */
  get pending(): number {
    return this.#partsLength + this.#skip;
  }

  /** Frames finished so far, delivered or skipped as oversized (the frame deadline reads it). */
  get completed(): number {
    return this.#completed;
  }

  push(chunk: Buffer): void {
    if (this.#skip > 0) {
      if (chunk.length <= this.#skip) {
        this.#skip -= chunk.length;
        return;
      }
      chunk = chunk.subarray(this.#skip);
      this.#skip = 0;
    }
    let buf = chunk;
    if (this.#partsLength > 0) {
      this.#parts.push(chunk);
      this.#partsLength += chunk.length;
      if (this.#partsLength < this.#need) return;
      buf = Buffer.concat(this.#parts, this.#partsLength);
      this.#parts = [];
      this.#partsLength = 0;
    }
    let offset = 0;
    // Wait for the length first, so a bad length is refused however the bytes were split.
    let need = 4;
    while (buf.length - offset >= 4) {
      const length = buf.readUInt32BE(offset);
      if (length < FIXED) throw new ProtocolError(`frame length ${length} is shorter than a frame header`);
      need = 4 + FIXED;
      if (buf.length - offset < 4 + FIXED) break;
      const type = buf[offset + 4]!;
      if (type < 1 || type > MAX_TYPE) throw new ProtocolError(`unknown frame type ${type}`);
      const id = buf.readUInt32BE(offset + 5);
      if (length + 4 > this.#max) {
        const available = buf.length - offset - 4;
        this.#skip = Math.max(0, length - available);
        offset = Math.min(buf.length, offset + 4 + length);
        this.#completed++;
        this.#events.oversized(type, id, length + 4);
        if (this.#skip > 0) return;
        continue;
      }
      need = 4 + length;
      if (buf.length - offset < need) break;
      const headerLength = buf.readUInt32BE(offset + 9);
      if (headerLength > length - FIXED) {
        throw new ProtocolError(`header length ${headerLength} exceeds frame length ${length}`);
      }
      const hStart = offset + 13;
      const bStart = hStart + headerLength;
      const end = offset + 4 + length;
      this.#completed++;
      this.#events.frame({
        type: type as FrameType,
        id,
        header: buf.subarray(hStart, bStart),
        body: buf.subarray(bStart, end),
      });
      offset = end;
      need = 4 + FIXED;
    }
    if (offset < buf.length) {
      // Copy so a small remainder does not pin a large chunk in memory.
      const rest = offset === 0 ? buf : Buffer.from(buf.subarray(offset));
      this.#parts = [rest];
      this.#partsLength = rest.length;
      this.#need = need;
    }
  }
}
