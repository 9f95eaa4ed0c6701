// The frame writer on a real loopback socket: frames written in one tick go out together, at
// most MAX_BATCH_FRAMES per socket write, so the peer starts on the first frames while this side
// is still making the rest (one write of 64 frames turns a pipeline into lock-step); a large
// frame goes out on its own after what was batched before it; the bytes arrive in order.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { FrameWriter, MAX_BATCH_FRAMES } from "../src/transport/writer.js";
import { within } from "./helpers.js";

describe("frame writer", () => {
  const received: Buffer[] = [];
  const open = new Set<Socket>();
  const server = createServer((s) => {
    open.add(s);
    s.on("data", (d) => received.push(d));
  });
  // A failed assertion leaves its socket open: close every one, or the server never closes.
  after(() => {
    for (const s of open) s.destroy();
    server.close();
  });

  async function pair(): Promise<{ socket: Socket; writes: number[] }> {
    if (!server.listening) {
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
    }
    const { port } = server.address() as { port: number };
    const socket = connect(port, "127.0.0.1");
    open.add(socket);
    await once(socket, "connect");
    const writes: number[] = [];
    const write = socket.write.bind(socket) as (b: Uint8Array) => boolean;
    socket.write = ((b: Uint8Array) => {
      writes.push(b.length);
      return write(b);
    }) as typeof socket.write;
    return { socket, writes };
  }

  const frame = (i: number, size = 10) => Buffer.alloc(size, i % 256);

  it(`70 frames in one tick: 4 writes of ${MAX_BATCH_FRAMES} frames at once, the last 6 at the end of the tick, in order`, async () => {
    received.length = 0;
    const { socket, writes } = await pair();
    const w = new FrameWriter(socket);
    for (let i = 0; i < 70; i++) w.write(frame(i));
    const full = MAX_BATCH_FRAMES * 10;
    assert.deepEqual(writes, [full, full, full, full], "full batches go out at once, in the same tick");
    await new Promise((r) => process.nextTick(r));
    assert.deepEqual(writes, [full, full, full, full, 60], "the rest at the end of the tick");
    await within(
      (async () => {
        while (Buffer.concat(received).length < 700) await new Promise((r) => setTimeout(r, 5));
      })(),
      5000,
      "700 bytes at the server",
    );
    const all = Buffer.concat(received);
    for (let i = 0; i < 70; i++) assert.equal(all[i * 10], i, `frame ${i} in its place`);
    socket.destroy();
  });

  it("a few frames in one tick: one write at the end of the tick", async () => {
    const { socket, writes } = await pair();
    const w = new FrameWriter(socket);
    for (let i = 0; i < 5; i++) w.write(frame(i));
    assert.deepEqual(writes, []);
    await new Promise((r) => process.nextTick(r));
    assert.deepEqual(writes, [50]);
    socket.destroy();
  });

  it("a large frame flushes the batch before it and goes out as it is", async () => {
    const { socket, writes } = await pair();
    const w = new FrameWriter(socket);
    w.write(frame(1));
    w.write(frame(2, 20_000));
    assert.deepEqual(writes, [10, 20_000]);
    socket.destroy();
  });
});
