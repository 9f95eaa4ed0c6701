// The limit's load generator: ONE connection, calls pipelined and matched by a 4-byte request id;
// each request body is JSON.stringify'd and each answer JSON.parse'd and checked, and writes are
// coalesced (at most 16 frames per socket write, the rest at the end of the tick).
import net from "node:net";
import { coalescingWriter } from "../lib/coalesce.mjs";
import { encodeFrame, frameReader } from "../lib/frames.mjs";
import { payloadJson, runClient } from "../lib/stats.mjs";

runClient(async ({ address }) => {
  const [host, port] = address.split(":");
  const socket = net.connect({ host, port: Number(port) });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.setNoDelay(true);
  const write = coalescingWriter(socket);

  const waiting = new Map(); // request id -> { resolve, reject, size }
  const fail = (err) => {
    for (const { reject } of waiting.values()) reject(err);
    waiting.clear();
  };
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("raw: connection closed")));
  socket.on(
    "data",
    frameReader((frame) => {
      const id = frame.readUInt32BE(4);
      const entry = waiting.get(id);
      if (!entry) return;
      waiting.delete(id);
      const body = JSON.parse(frame.toString("utf8", 8));
      if (body.data.length !== entry.size) entry.reject(new Error("raw: wrong echo size"));
      else entry.resolve();
    }),
  );

  let nextId = 0;
  const makeCall = (size) => {
    const body = payloadJson(size);
    return () =>
      new Promise((resolve, reject) => {
        nextId = (nextId + 1) >>> 0;
        waiting.set(nextId, { resolve, reject, size });
        write(encodeFrame(nextId, Buffer.from(JSON.stringify(body))));
      });
  };
  return { makeCall, close: () => socket.destroy() };
});
