/**
 * Pinned behaviours of the frame writer (transport/writer.ts) that its own tests leave open:
 * the direct-write boundary, one frame sent as is, end() sending the batch before the FIN, a
 * closed socket written nothing, and the backpressure answer.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { FrameWriter } from "../../src/transport/writer.js";
import { within } from "../helpers.js";

describe("frame writer (pinned)", { timeout: 10_000 }, () => {
  const open = new Set<Socket>();
  const server = createServer((s) => open.add(s));
  after(() => {
    for (const s of open) s.destroy();
    server.close();
  });

  /** A connected client socket whose writes are recorded (each as its byte length), and the server's end. */
  async function pair(): Promise<{ socket: Socket; peer: Socket; writes: Uint8Array[] }> {
    if (!server.listening) {
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
    }
    const accepted = once(server, "connection");
    const socket = connect((server.address() as { port: number }).port, "127.0.0.1");
    open.add(socket);
    await once(socket, "connect");
    const [peer] = (await within(accepted, 2000, "the server to accept")) as [Socket];
    const writes: Uint8Array[] = [];
    const write = socket.write.bind(socket) as (b: Uint8Array) => boolean;
    socket.write = ((b: Uint8Array) => {
      writes.push(b);
      return write(b);
    }) as typeof socket.write;
    return { socket, peer, writes };
  }

  it("a frame of exactly 16 KiB goes out at once, on its own; one byte less is batched", async () => {
    const { socket, writes } = await pair();
    const w = new FrameWriter(socket);
    w.write(Buffer.alloc(16 * 1024 - 1));
    assert.equal(writes.length, 0, "batched until the end of the tick");
    w.write(Buffer.alloc(16 * 1024));
    assert.deepEqual(
      writes.map((b) => b.length),
      [16 * 1024 - 1, 16 * 1024],
    );
    socket.destroy();
  });

  it("a batch of one frame is written as that same buffer, not a copy", async () => {
    const { socket, writes } = await pair();
    const w = new FrameWriter(socket);
    const only = Buffer.from("one frame");
    w.write(only);
    await new Promise((r) => process.nextTick(r));
    assert.equal(writes.length, 1);
    assert.equal(writes[0], only);
    socket.destroy();
  });

  it("end() sends what is batched, then half-closes: the peer reads every byte, then the end", async () => {
    const { socket, peer } = await pair();
    const chunks: Buffer[] = [];
    peer.on("data", (c) => chunks.push(c));
    const ended = once(peer, "end");
    const w = new FrameWriter(socket);
    w.write(Buffer.from("abc"));
    w.write(Buffer.from("def"));
    w.end();
    await within(ended, 2000, "the peer to see the end");
    assert.equal(Buffer.concat(chunks).toString(), "abcdef");
    socket.destroy();
  });

  it("writes to a destroyed socket are refused (false) and nothing is sent, even from a batch made before", async () => {
    const { socket, writes } = await pair();
    const w = new FrameWriter(socket);
    w.write(Buffer.from("queued"));
    socket.destroy();
    await new Promise((r) => process.nextTick(r));
    assert.equal(writes.length, 0, "the batch is dropped with its socket");
    assert.equal(w.write(Buffer.from("late")), false);
    assert.equal(w.write(Buffer.alloc(20_000)), false);
    await new Promise((r) => process.nextTick(r));
    assert.equal(writes.length, 0);
  });

  it("write() answers false once the socket's buffer and the batch reach the high-water mark", async () => {
    const { socket, peer } = await pair();
    peer.pause(); // nothing is read, so the socket's buffer fills
    const w = new FrameWriter(socket);
    const hwm = socket.writableHighWaterMark;
    assert.equal(w.write(Buffer.alloc(100)), true, "far below the mark");
    let answers = 0;
    let last = true;
    while (last && answers < 10_000) {
      last = w.write(Buffer.alloc(1000));
      answers++;
    }
    assert.equal(last, false, `false before ${10_000} writes of 1000 bytes`);
    assert.ok(answers * 1000 + 100 >= hwm, `not before the mark of ${hwm} bytes (after ${answers} writes)`);
    socket.destroy();
  });

  it("counts the batch not yet written: false once socket buffer plus batch reach the mark, exactly at it included", async () => {
    const { socket, writes } = await pair();
    const hwm = socket.writableHighWaterMark;
    assert.equal(hwm % 8, 0);
    const w = new FrameWriter(socket);
    const answers: boolean[] = [];
    for (let i = 0; i < 8; i++) answers.push(w.write(Buffer.alloc(hwm / 8)));
    assert.equal(writes.length, 0, "all eight are still batched");
    assert.deepEqual(
      answers,
      [true, true, true, true, true, true, true, false],
      "the eighth brings the batch to the mark",
    );
    socket.destroy();
  });

  it("a full batch sent at once leaves nothing for the end of the tick: no empty write", async () => {
    const { socket, writes } = await pair();
    const w = new FrameWriter(socket);
    for (let i = 0; i < 16; i++) w.write(Buffer.alloc(10, i));
    assert.deepEqual(
      writes.map((b) => b.length),
      [160],
    );
    await new Promise((r) => process.nextTick(r));
    w.end();
    assert.deepEqual(
      writes.map((b) => b.length),
      [160],
      "neither the tick's flush nor end() writes an empty buffer",
    );
  });

  it("after the socket is ended by someone else: write() is refused and the batch is dropped, with no write-after-end error", async () => {
    const { socket, writes } = await pair();
    const errors: Error[] = [];
    socket.on("error", (e) => errors.push(e));
    const w = new FrameWriter(socket);
    w.write(Buffer.from("batched"));
    socket.end();
    assert.equal(socket.destroyed, false);
    await new Promise((r) => process.nextTick(r));
    assert.equal(w.write(Buffer.from("late")), false, "a half-closed socket takes no more frames");
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(writes, []);
    assert.deepEqual(errors, []);
    socket.destroy();
  });
});
