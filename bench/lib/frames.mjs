// Raw framing shared by the raw server and client: [u32 BE length][u32 BE request id][payload],
// where length counts the id and the payload.

export const HEADER = 4;

/** Calls onFrame(frame) for every complete frame (a Buffer including its length prefix) in the stream. */
export function frameReader(onFrame) {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let offset = 0;
    while (buf.length - offset >= HEADER) {
      const end = offset + HEADER + buf.readUInt32BE(offset);
      if (end > buf.length) break;
      onFrame(buf.subarray(offset, end));
      offset = end;
    }
    buf = buf.subarray(offset);
    pending = buf;
  };
}

export function encodeFrame(id, payload) {
  const frame = Buffer.allocUnsafe(8 + payload.length);
  frame.writeUInt32BE(4 + payload.length, 0);
  frame.writeUInt32BE(id, 4);
  payload.copy(frame, 8);
  return frame;
}
