/**
 * Behaviours of the wire codec that mutation testing showed no test pinned (issue 20): the frame
 * size boundary, frames after an oversized one, metadata types, and MicroError.parse on non-objects.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import { encodeFrame, type Frame, FrameDecoder, FrameType } from "../../src/transport/frame.js";
import { decodeRequestHeaders } from "../../src/transport/headers.js";

function decoder(max: number) {
  const frames: Frame[] = [];
  const oversized: { id: number; length: number }[] = [];
  const d = new FrameDecoder(max, {
    frame: (f) => frames.push(f),
    oversized: (_type, id, length) => oversized.push({ id, length }),
  });
  return { d, frames, oversized };
}

/** A request frame whose total size on the wire is exactly `size` bytes. */
function frameOfSize(id: number, size: number): Buffer {
  const f = encodeFrame(FrameType.Request, id, "", Buffer.alloc(size - 13, 0x61));
  assert.equal(f.length, size);
  return f;
}

describe("frame size limit (pinned)", () => {
  const max = 1024;
  it("a frame of exactly the limit is delivered, not refused", () => {
    const { d, frames, oversized } = decoder(max);
    d.push(frameOfSize(1, max));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.id, 1);
    assert.deepEqual(oversized, []);
  });
  for (const over of [1, 8]) {
    it(`a frame ${over} byte(s) over the limit is refused as oversized`, () => {
      const { d, frames, oversized } = decoder(max);
      d.push(frameOfSize(2, max + over));
      assert.equal(frames.length, 0);
      assert.deepEqual(oversized, [{ id: 2, length: max + over }]);
    });
  }
  it("frames after an oversized one that arrived whole, in the same chunk, are all delivered", () => {
    const { d, frames, oversized } = decoder(max);
    d.push(Buffer.concat([frameOfSize(3, max + 100), frameOfSize(4, 40), frameOfSize(5, 50)]));
    assert.deepEqual(
      oversized.map((o) => o.id),
      [3],
    );
    assert.deepEqual(
      frames.map((f) => f.id),
      [4, 5],
    );
  });
  it("an oversized frame split across chunks is skipped and the next frame still decodes", () => {
    const { d, frames, oversized } = decoder(max);
    const big = frameOfSize(6, max * 3);
    const next = frameOfSize(7, 30);
    d.push(big.subarray(0, 100));
    d.push(big.subarray(100, 2000));
    d.push(Buffer.concat([big.subarray(2000), next]));
    assert.deepEqual(
      oversized.map((o) => o.id),
      [6],
    );
    assert.deepEqual(
      frames.map((f) => f.id),
      [7],
    );
  });
});

describe("request headers off the wire (pinned)", () => {
  const limits = { maxHeaderBytes: 64 * 1024, maxMetadataEntries: 16 };
  const decode = (o: unknown) => decodeRequestHeaders(Buffer.from(JSON.stringify(o)), limits);
  for (const value of [1, true, null, { x: "y" }, ["a"]]) {
    it(`metadata value ${JSON.stringify(value)} (not a string) is refused with a 400 naming the key`, () => {
      assert.throws(
        () => decode({ s: "svc", e: "A.b", c: "application/json", m: { "x-key": value } }),
        (err: unknown) =>
          err instanceof MicroError &&
          err.code === 400 &&
          /x-key/.test(err.detail) &&
          /string/.test(err.detail),
      );
    });
  }
  it("string metadata is kept as sent", () => {
    const h = decode({ s: "svc", e: "A.b", c: "application/json", m: { "x-key": "v" } });
    assert.equal(h.metadata?.["x-key"], "v");
  });
});

describe("MicroError.parse on what is not an error object (pinned)", () => {
  for (const raw of ["null", "42", '"text"', "true", "[]"]) {
    it(`parse(${JSON.stringify(raw)}) returns a 500 MicroError quoting it, never throws`, () => {
      const e = MicroError.parse(raw);
      assert.ok(e instanceof MicroError);
      assert.equal(e.code, 500);
      assert.ok(e.detail.includes(raw === "[]" ? "[]" : raw), `detail ${e.detail} should quote ${raw}`);
    });
  }
  it("parse(not JSON) returns a 500 quoting the text", () => {
    const e = MicroError.parse("<html>bad gateway</html>");
    assert.equal(e.code, 500);
    assert.equal(e.detail, "<html>bad gateway</html>");
  });
});
