// What the streaming benchmark's servers serve, as raw bytes on every stack (no protobuf
// encoding on either side, so transports are compared, not codecs):
//   bench.Echo/Echo          unary echo
//   bench.Stream/Download    server-streaming: request = u32 count, u32 size; `count` messages of `size` bytes
import { createInterface } from "node:readline";
import { report } from "../lib/stats.mjs";

const bytes = (b) => b;
const method = (path, responseStream) => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});

/** The grpc-js service definition. */
export const benchService = {
  Echo: method("/bench.Echo/Echo", false),
  Download: method("/bench.Stream/Download", true),
};

export function downloadRequest(count, size) {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(count, 0);
  b.writeUInt32BE(size, 4);
  return b;
}

export function parseDownload(b) {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return { count: buf.readUInt32BE(0), size: buf.readUInt32BE(4) };
}

/** Servers answer `{"type":"cpu"}` on stdin with their CPU time so far (µs), for CPU per call. */
export function answerCpuQueries() {
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (JSON.parse(line).type !== "cpu") return;
    const { user, system } = process.cpuUsage();
    report({ type: "cpu", us: user + system });
  });
}
