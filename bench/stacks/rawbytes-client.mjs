// Raw bytes load generator (the old "raw" row): ONE connection, calls pipelined and matched by a
// 4-byte request id, one socket write per frame, nothing parsed. Kept to explain the limit below.
import net from "node:net";
import { encodeFrame, frameReader } from "../lib/frames.mjs";
import { payloadBytes, runClient } from "../lib/stats.mjs";

runClient(async ({ address }) => {
  const [host, port] = address.split(":");
  const socket = net.connect({ host, port: Number(port) });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.setNoDelay(true);

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
      if (frame.length - 8 !== entry.size) entry.reject(new Error("raw: wrong echo size"));
      else entry.resolve();
    }),
  );

  let nextId = 0;
  const makeCall = (size) => {
    const payload = payloadBytes(size);
    return () =>
      new Promise((resolve, reject) => {
        nextId = (nextId + 1) >>> 0;
        waiting.set(nextId, { resolve, reject, size });
        socket.write(encodeFrame(nextId, payload));
      });
  };
  return { makeCall, close: () => socket.destroy() };
});
