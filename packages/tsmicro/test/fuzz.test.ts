/**
 * 50,000 fuzz cases over the frame decoder, header decoding and every codec (properties in
 * fuzz/properties.ts, shared with `npm run fuzz`). Seeded: the seed is printed, and
 * TSMICRO_FUZZ_SEED=<seed> replays a run.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Codec } from "../src/codec/codec.js";
import { FrameDecoder } from "../src/transport/frame.js";
import { codecProperties, frameDecoderAnyBytes, fuzzProperties, shareRuns } from "./fuzz/properties.js";

const TOTAL = 50_000;
const seed = Number(process.env.TSMICRO_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fuzz: ${TOTAL} cases, seed ${seed} (replay with TSMICRO_FUZZ_SEED=${seed})`);

describe(`fuzz: ${TOTAL} cases, seed ${seed}`, () => {
  for (const [p, runs] of shareRuns(fuzzProperties(), TOTAL)) {
    test(`${p.name} (${runs} cases)`, () => {
      fc.assert(p.property, { numRuns: runs, seed });
    });
  }

  // Negative controls: each property fails on a component with a planted fault.
  test("negative control: a decoder that throws a TypeError on some bytes is caught", () => {
    const faulty = (max: number, events: ConstructorParameters<typeof FrameDecoder>[1]) => {
      const real = new FrameDecoder(max, events);
      return {
        push(chunk: Buffer) {
          if (chunk.includes(0x07)) throw new TypeError("planted fault");
          real.push(chunk);
        },
        get buffered() {
          return real.buffered;
        },
      };
    };
    const r = fc.check(frameDecoderAnyBytes(faulty).property, { numRuns: 2000, seed });
    assert.equal(r.failed, true, "the property missed a decoder that throws TypeError");
    assert.match(String(r.errorInstance), /non-protocol error/);
  });

  test("negative control: a decoder that buffers past the frame limit is caught", () => {
    const hoarder = (_max: number, events: ConstructorParameters<typeof FrameDecoder>[1]) => {
      const real = new FrameDecoder(64 * 1024 * 1024, events);
      return {
        push: (chunk: Buffer) => real.push(chunk),
        get buffered() {
          return real.buffered;
        },
      };
    };
    const r = fc.check(frameDecoderAnyBytes(hoarder).property, { numRuns: 5000, seed });
    assert.equal(r.failed, true, "the property missed a decoder with no frame limit");
    assert.match(String(r.errorInstance), /over the 4096-byte frame limit/);
  });

  test("negative control: a codec that throws a non-Error is caught", () => {
    const bad: Codec = {
      contentType: "x/bad",
      encode: (v) => Buffer.from(JSON.stringify(v)),
      decode: (b) => {
        if (b.length > 3) throw "not an error";
        return {};
      },
    };
    const r = fc.check(codecProperties(bad, "bad")[0]!.property, { numRuns: 2000, seed });
    assert.equal(r.failed, true, "the property missed a codec throwing a string");
  });
});
