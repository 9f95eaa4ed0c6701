/**
 * Fuzz properties over everything that reads bytes from a peer: the frame decoder, request
 * and response header decoding, the error-frame parser and every codec. Each says: any input
 * yields a value or a clear error of the expected kind, never another throw, a hang or an
 * allocation beyond the limit. Shared by `npm test` (50,000 cases, seeded) and the long mode
 * (`npm run fuzz -- --runs 1000000`).
 */
import fc from "fast-check";
import type { Codec } from "../../src/codec/codec.js";
import { createJsonCodec } from "../../src/codec/json.js";
import { createMsgpackCodec } from "../../src/codec/msgpack.js";
import { MicroError } from "../../src/errors.js";
import {
  type DecoderEvents,
  encodeFrame,
  type Frame,
  FrameDecoder,
  type FrameType,
  ProtocolError,
} from "../../src/transport/frame.js";
import {
  decodeRequestHeaders,
  decodeResponseContentType,
  encodeRequestHeaders,
  MAX_TIMEOUT_MS,
} from "../../src/transport/headers.js";
import type { RequestHeaders } from "../../src/transport/transport.js";

export interface FuzzProperty {
  name: string;
  /** Share of the total run count this property gets (cheap ones get more). */
  weight: number;
  property: fc.IProperty<any>;
}

const MAX_FRAME = 4096;
const LIMITS = { maxHeaderBytes: 1024, maxMetadataEntries: 8 };

/** A frame with every field near its valid value: lengths off by a little, types just out of range. */
const nearFrame = fc
  .tuple(
    fc.integer({ min: 0, max: 11 }),
    fc.nat(),
    fc.integer({ min: -10, max: 3 }),
    fc.integer({ min: -2, max: 40 }),
    fc.uint8Array({ maxLength: 96 }),
  )
  .map(([type, id, lengthDelta, headerLength, rest]) => {
    const b = Buffer.alloc(13 + rest.length);
    b.writeUInt32BE(Math.max(0, 9 + rest.length + lengthDelta), 0);
    b[4] = type;
    b.writeUInt32BE(id, 5);
    b.writeUInt32BE(Math.max(0, headerLength), 9);
    b.set(rest, 13);
    return b;
  });

/** A frame near or over the limit, delivered in part or whole: exercises the skip path and the bound. */
const bigFrame = fc
  .tuple(
    fc.integer({ min: MAX_FRAME - 64, max: MAX_FRAME + 1024 }),
    fc.integer({ min: 1, max: 9 }),
    // Bytes delivered: often just past the limit, where a decoder without one would hoard.
    fc.integer({ min: MAX_FRAME - 64, max: MAX_FRAME + 1100 }),
  )
  .map(([length, type, delivered]) => {
    const b = Buffer.alloc(Math.max(13, Math.min(4 + length, delivered)));
    b.writeUInt32BE(length, 0);
    b[4] = type;
    return new Uint8Array(b);
  });

/** Raw bytes, plausible frame prefixes and runs of near-valid frames, to get past the first checks. */
const bytes = fc.oneof(
  bigFrame,
  fc.array(nearFrame, { maxLength: 5 }).map((fs) => new Uint8Array(Buffer.concat(fs))),
  fc.uint8Array({ maxLength: 512 }),
  fc
    .tuple(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 12 }),
      fc.uint8Array({ maxLength: 256 }),
    )
    .map(([len, type, rest]) => {
      const b = Buffer.alloc(5 + rest.length);
      b.writeUInt32BE(len, 0);
      b[4] = type;
      b.set(rest, 5);
      return new Uint8Array(b);
    }),
);

/** Split points for feeding one byte string in chunks. */
const cuts = fc.array(fc.nat({ max: 600 }), { maxLength: 8 });

function chunked(data: Uint8Array, at: number[]): Buffer[] {
  const points = [...new Set(at.map((n) => n % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    if (p > prev) out.push(Buffer.from(data.subarray(prev, p)));
    prev = p;
  }
  return out;
}

interface Decoded {
  frames: { type: number; id: number; header: string; body: string }[];
  oversized: number[];
  error: string | undefined;
}

/** Feeds chunks to a fresh decoder; checks the allocation bound after each; stops at the first protocol error. */
type MakeDecoder = (max: number, events: DecoderEvents) => Pick<FrameDecoder, "push" | "buffered">;
const realDecoder: MakeDecoder = (max, events) => new FrameDecoder(max, events);

function decodeAll(chunks: Buffer[], make: MakeDecoder = realDecoder): Decoded {
  const out: Decoded = { frames: [], oversized: [], error: undefined };
  const decoder = make(MAX_FRAME, {
    frame: (f: Frame) =>
      out.frames.push({
        type: f.type,
        id: f.id,
        header: f.header.toString("hex"),
        body: f.body.toString("hex"),
      }),
    oversized: (_type, id) => out.oversized.push(id),
  });
  for (const c of chunks) {
    try {
      decoder.push(c);
    } catch (err) {
      if (!(err instanceof ProtocolError))
        throw new Error(`decoder threw a non-protocol error: ${String(err)}`);
      if (err.message.length === 0) throw new Error("decoder threw a protocol error without a message");
      out.error = err.message;
      return out;
    }
    if (decoder.buffered > MAX_FRAME) {
      throw new Error(`decoder holds ${decoder.buffered} bytes, over the ${MAX_FRAME}-byte frame limit`);
    }
  }
  return out;
}

/** Exported with a decoder factory so a test can show the property catches a faulty decoder. */
export const frameDecoderAnyBytes = (make: MakeDecoder = realDecoder): FuzzProperty => ({
  name: "frame decoder: any bytes, any chunking: frames or a ProtocolError, bounded buffer, same result however split",
  weight: 3,
  property: fc.property(bytes, cuts, (data, at) => {
    const whole = decodeAll([Buffer.from(data)], make);
    const split = decodeAll(chunked(data, at), make);
    // The chunking must not change what was decoded, nor whether the bytes were refused.
    if (JSON.stringify(whole.frames) !== JSON.stringify(split.frames))
      throw new Error("frames differ by chunking");
    if ((whole.error === undefined) !== (split.error === undefined))
      throw new Error("refusal differs by chunking");
  }),
});

const anyFrame = fc.record({
  type: fc.integer({ min: 1, max: 9 }),
  id: fc.nat(),
  header: fc.string({ maxLength: 64 }),
  body: fc.uint8Array({ maxLength: 5000 }),
});

const frameRoundTrip: FuzzProperty = {
  name: "frame decoder: encoded frames come back whole, oversized ones are skipped, however split",
  weight: 1,
  property: fc.property(fc.array(anyFrame, { maxLength: 6 }), cuts, (frames, at) => {
    const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type as FrameType, f.id, f.header, f.body)));
    const got = decodeAll(chunked(wire, at));
    if (got.error !== undefined) throw new Error(`valid frames refused: ${got.error}`);
    let fi = 0;
    let oi = 0;
    for (const f of frames) {
      const size = encodeFrame(f.type as FrameType, f.id, f.header, f.body).length;
      if (size > MAX_FRAME) {
        if (got.oversized[oi++] !== f.id) throw new Error(`oversized frame ${f.id} not reported`);
        continue;
      }
      const g = got.frames[fi++];
      if (
        g === undefined ||
        g.type !== f.type ||
        g.id !== f.id ||
        g.header !== Buffer.from(f.header, "utf8").toString("hex") ||
        g.body !== Buffer.from(f.body).toString("hex")
      ) {
        throw new Error(`frame ${f.id} did not round-trip`);
      }
    }
    if (fi !== got.frames.length) throw new Error("decoder produced frames that were not sent");
  }),
};

/** JSON-ish header objects: real keys with values of any type, to reach every validation branch. */
const headerObject = fc.record(
  {
    s: fc.oneof(fc.string(), fc.jsonValue()),
    e: fc.oneof(fc.string(), fc.jsonValue()),
    c: fc.oneof(fc.constant("application/json"), fc.jsonValue()),
    t: fc.oneof(fc.double(), fc.jsonValue()),
    m: fc.oneof(
      fc.dictionary(
        fc.oneof(fc.string({ maxLength: 8 }), fc.constant("__proto__")),
        fc.oneof(fc.string(), fc.jsonValue()),
      ),
      fc.jsonValue(),
    ),
    h: fc.oneof(fc.array(fc.string(), { maxLength: 4 }), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

function checkDecodedHeaders(h: RequestHeaders): void {
  const ok =
    typeof h.service === "string" &&
    h.service.length > 0 &&
    typeof h.endpoint === "string" &&
    h.endpoint.length > 0 &&
    typeof h.contentType === "string" &&
    (h.timeoutMs === undefined ||
      (typeof h.timeoutMs === "number" && h.timeoutMs >= 0 && h.timeoutMs <= MAX_TIMEOUT_MS)) &&
    (h.metadata === undefined ||
      (Object.keys(h.metadata).length <= LIMITS.maxMetadataEntries &&
        Object.keys(h.metadata).every((k) => k === k.toLowerCase()) &&
        Object.values(h.metadata).every((v) => typeof v === "string"))) &&
    (h.chain === undefined || h.chain.every((x) => typeof x === "string"));
  if (!ok) throw new Error(`accepted an invalid header: ${JSON.stringify(h)}`);
}

function expect400(err: unknown): void {
  if (!(err instanceof MicroError) || err.code !== 400 || err.detail.length === 0) {
    throw new Error(`expected a MicroError 400 with a detail, got ${String(err)}`);
  }
}

const requestHeaders: FuzzProperty = {
  name: "request headers: any bytes or JSON object decode to valid headers or a MicroError 400",
  weight: 2,
  property: fc.property(
    fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? "")),
      headerObject.map((o) => Buffer.from(JSON.stringify(o))),
      fc.string({ minLength: 1025, maxLength: 1100 }).map((s) => Buffer.from(s)),
    ),
    (raw) => {
      let h: RequestHeaders;
      try {
        h = decodeRequestHeaders(raw, LIMITS);
      } catch (err) {
        expect400(err);
        return;
      }
      checkDecodedHeaders(h);
      // Nothing accepted is silently dropped: every metadata key sent is there.
      const sent = (JSON.parse(raw.toString("utf8")) as { m?: object }).m;
      const got = Object.keys(h.metadata ?? {}).length;
      if (sent !== undefined && Object.keys(sent).length !== got) {
        throw new Error(`metadata keys dropped: sent ${JSON.stringify(sent)}, kept ${got}`);
      }
    },
  ),
};

const headerRoundTrip: FuzzProperty = {
  name: "request headers: what the client encodes, the server decodes unchanged",
  weight: 1,
  property: fc.property(
    fc.record(
      {
        service: fc.string({ minLength: 1 }),
        endpoint: fc.string({ minLength: 1 }),
        contentType: fc.string(),
        timeoutMs: fc.nat(),
        metadata: fc.dictionary(
          // Keys are lower-cased on decode: a round trip keeps the lower-case ones unchanged.
          fc.string({ maxLength: 8 }).filter((k) => k !== "__proto__" && k === k.toLowerCase()),
          fc.string(),
          { maxKeys: LIMITS.maxMetadataEntries },
        ),
        chain: fc.array(fc.string(), { maxLength: 4 }),
      },
      { requiredKeys: ["service", "endpoint", "contentType"] },
    ),
    (h) => {
      const back = decodeRequestHeaders(Buffer.from(encodeRequestHeaders(h)), {
        ...LIMITS,
        maxHeaderBytes: 1 << 20,
      });
      const norm = (x: RequestHeaders) =>
        JSON.stringify({
          s: x.service,
          e: x.endpoint,
          c: x.contentType,
          t: x.timeoutMs,
          m: x.metadata !== undefined && Object.keys(x.metadata).length > 0 ? x.metadata : undefined,
          h: x.chain !== undefined && x.chain.length > 0 ? x.chain : undefined,
        });
      if (norm(back) !== norm(h)) throw new Error(`headers changed on the wire: ${norm(h)} -> ${norm(back)}`);
    },
  ),
};

const responseHeaders: FuzzProperty = {
  name: "response content type and error frames: any bytes give a string or a MicroError, never a throw",
  weight: 2,
  property: fc.property(fc.uint8Array({ maxLength: 300 }), fc.jsonValue(), (raw, json) => {
    if (typeof decodeResponseContentType(Buffer.from(raw)) !== "string")
      throw new Error("content type not a string");
    for (const text of [Buffer.from(raw).toString("utf8"), JSON.stringify(json) ?? ""]) {
      const e = MicroError.parse(text);
      if (!(e instanceof MicroError) || typeof e.code !== "number" || typeof e.detail !== "string") {
        throw new Error(`error frame parsed to ${String(e)}`);
      }
    }
  }),
};

/**
 * A codec's decode either returns a value or throws an Error with a message (the server
 * turns that into a 400 naming the endpoint); and what it encodes it decodes back.
 */
export function codecProperties(codec: Codec, label: string): FuzzProperty[] {
  return [
    {
      name: `${label} codec: any bytes decode to a value or an Error with a message`,
      weight: 2,
      property: fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), codecPrefixed(codec)), (raw) => {
        try {
          codec.decode(raw);
        } catch (err) {
          if (!(err instanceof Error) || err.message.length === 0) {
            throw new Error(`${label} decode threw something unclear: ${String(err)}`);
          }
        }
      }),
    },
    {
      name: `${label} codec: JSON values round-trip`,
      weight: 1,
      property: fc.property(fc.jsonValue().filter(withoutProtoKey), (v) => {
        const back = codec.decode(codec.encode(v));
        // -0 becomes 0 in JSON; compare through JSON text, as a peer would see it.
        if (JSON.stringify(back) !== JSON.stringify(v === undefined ? {} : v)) {
          throw new Error(`${label} did not round-trip ${JSON.stringify(v)}`);
        }
      }),
    },
  ];
}

/**
 * msgpackr renames a "__proto__" key to "__proto_" on decode (its guard against prototype
 * pollution), so such values do not round-trip by design; JSON keeps them as own keys.
 */
function withoutProtoKey(v: unknown): boolean {
  return !JSON.stringify(v ?? null).includes('"__proto__":');
}

/** Valid encodings with bytes flipped or cut: closer to the decoder's deep paths than noise. */
function codecPrefixed(codec: Codec): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.jsonValue(), fc.nat(), fc.nat({ max: 255 }), fc.boolean()).map(([v, at, flip, cut]) => {
    const enc = Buffer.from(codec.encode(v));
    if (enc.length === 0) return enc;
    const i = at % enc.length;
    if (cut) return enc.subarray(0, i);
    enc[i] = flip;
    return enc;
  });
}

/** Every property, in order. */
export function fuzzProperties(): FuzzProperty[] {
  return [
    frameDecoderAnyBytes(),
    frameRoundTrip,
    requestHeaders,
    headerRoundTrip,
    responseHeaders,
    ...codecProperties(createJsonCodec(), "json"),
    ...codecProperties(createMsgpackCodec(), "msgpack"),
  ];
}

/** Each property with its share of `total` runs, by weight; the shares add up to `total`. */
export function shareRuns(props: FuzzProperty[], total: number): [FuzzProperty, number][] {
  const weights = props.reduce((n, p) => n + p.weight, 0);
  let left = total;
  return props.map((p, i) => {
    const runs = i === props.length - 1 ? left : Math.round((total * p.weight) / weights);
    left -= runs;
    return [p, runs];
  });
}

export interface FuzzResult {
  name: string;
  runs: number;
  ms: number;
  failure: string | undefined;
}

/** Runs every property with its share of `totalRuns`, seeded; never throws, reports failures. */
export function runFuzz(totalRuns: number, seed: number, onResult?: (r: FuzzResult) => void): FuzzResult[] {
  const results: FuzzResult[] = [];
  for (const [p, runs] of shareRuns(fuzzProperties(), totalRuns)) {
    const t0 = performance.now();
    const details = fc.check(p.property, { numRuns: runs, seed, endOnFailure: true });
    const failure = details.failed
      ? `counterexample ${fc.stringify(details.counterexample)} after ${details.numRuns} runs (seed ${seed}, path ${details.counterexamplePath}): ${String(details.errorInstance)}`
      : undefined;
    const r = { name: p.name, runs: details.numRuns, ms: performance.now() - t0, failure };
    results.push(r);
    onResult?.(r);
  }
  return results;
}
