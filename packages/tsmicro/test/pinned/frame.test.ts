/**
 * The frame decoder under every way TCP may split or join frames, and its refusals: behaviours
 * the full mutation run of transport/frame.ts (issue 20) found unpinned. Each frame must come out
 * whole and at once when its last byte arrives, and bytes that cannot be a frame must be refused
 * with a ProtocolError at once, never a RangeError and never a wait for bytes that are not coming.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  encodeFrame,
  type Frame,
  FrameDecoder,
  FrameType,
  frameSize,
  ProtocolError,
} from "../../src/transport/frame.js";

function decoder(max = 1024) {
  const frames: Frame[] = [];
  const oversized: { type: number; id: number; length: number }[] = [];
  const d = new FrameDecoder(max, {
    frame: (f) => frames.push(f),
    oversized: (type, id, length) => oversized.push({ type, id, length }),
  });
  return { d, frames, oversized };
}

const frame = (id: number, header: string, body: string) =>
  encodeFrame(FrameType.Request, id, header, Buffer.from(body));

/** A frame as the decoder hands it on, for comparison. */
const seen = (f: Frame) => ({ id: f.id, header: f.header.toString(), body: f.body.toString() });

/** Decoding `bytes` throws a ProtocolError whose message matches `message`. */
function refused(bytes: Buffer, message: RegExp) {
  const { d } = decoder();
  assert.throws(
    () => d.push(bytes),
    (e: unknown) => e instanceof ProtocolError && e.name === "ProtocolError" && message.test(e.message),
  );
}

describe("frame encoding (pinned)", () => {
  it("frameSize is the size encodeFrame makes, with and without header and body", () => {
    for (const [header, body] of [
      ["", ""],
      ['{"s":"é"}', ""],
      ["", "x".repeat(100)],
      ['{"s":"svc"}', "body"],
    ] as const) {
      assert.equal(
        frameSize(header, Buffer.byteLength(body)),
        frame(1, header, body).length,
        `${header}|${body}`,
      );
    }
  });
});

describe("frame decoding across chunk boundaries (pinned)", () => {
  it("a frame whose last chunk completes it exactly is delivered on that chunk", () => {
    const { d, frames } = decoder();
    const f = frame(1, '{"a":1}', "hello");
    d.push(f.subarray(0, 20));
    assert.equal(frames.length, 0);
    assert.equal(d.buffered, 20);
    d.push(f.subarray(20));
    assert.deepEqual(frames.map(seen), [{ id: 1, header: '{"a":1}', body: "hello" }]);
    assert.equal(d.buffered, 0);
  });

  it("a small whole frame after a large split one is delivered at once, not held for the large one's size", () => {
    const { d, frames } = decoder();
    const big = frame(1, "", "b".repeat(600));
    d.push(big.subarray(0, 100));
    d.push(big.subarray(100));
    assert.equal(frames.length, 1);
    d.push(frame(2, "", "small"));
    assert.deepEqual(frames.map(seen)[1], { id: 2, header: "", body: "small" });
  });

  it("a chunk that ends a few bytes into the next frame's fixed header waits for the rest", () => {
    const { d, frames } = decoder();
    const a = frame(1, "", "first");
    const b = frame(2, "", "second");
    d.push(Buffer.concat([a, b.subarray(0, 6)]));
    assert.deepEqual(frames.map(seen), [{ id: 1, header: "", body: "first" }]);
    assert.equal(d.pending, 6);
    d.push(b.subarray(6));
    assert.deepEqual(frames.map(seen)[1], { id: 2, header: "", body: "second" });
  });

  it("counts every frame finished, delivered or skipped as oversized", () => {
    const { d } = decoder(64);
    d.push(Buffer.concat([frame(1, "", "a"), frame(2, "", "x".repeat(100)), frame(3, "", "b")]));
    assert.equal(d.completed, 3);
  });

  it("an oversized frame begun after another frame in one chunk is skipped to its end, and the frames around it delivered", () => {
    const { d, frames, oversized } = decoder(64);
    const big = frame(2, "", "x".repeat(200));
    d.push(Buffer.concat([frame(1, "", "before"), big.subarray(0, 30)]));
    assert.equal(d.pending, big.length - 4 - 26, "the oversized frame's unread bytes are still to skip");
    d.push(Buffer.concat([big.subarray(30), frame(3, "", "after")]));
    assert.deepEqual(
      frames.map((f) => f.id),
      [1, 3],
    );
    assert.deepEqual(oversized, [{ type: FrameType.Request, id: 2, length: big.length }]);
  });
});

describe("frame refusals (pinned)", () => {
  it("a length shorter than a frame header is refused as soon as its 4 bytes arrive", () => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(8);
    refused(len, /frame length 8 is shorter than a frame header/);
  });

  for (const type of [0, 10, 255]) {
    it(`frame type ${type} is refused as unknown`, () => {
      const f = frame(1, "", "x");
      f[4] = type;
      refused(f, new RegExp(`unknown frame type ${type}`));
    });
  }

  it("a header length past the end of its frame is refused", () => {
    const f = frame(1, "{}", "body");
    f.writeUInt32BE(7, 9); // 2 bytes of header + 4 of body: 7 is one too many
    refused(f, /header length 7 exceeds frame length 15/);
    const ok = frame(1, "{}", "body");
    ok.writeUInt32BE(6, 9); // all of it header, no body: allowed
    const { d, frames } = decoder();
    d.push(ok);
    assert.deepEqual(frames.map(seen), [{ id: 1, header: "{}body", body: "" }]);
  });
});
