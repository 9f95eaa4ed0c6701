/**
 * Pinned behaviours of the codecs and of the broker's message frame (codec/codec.ts,
 * codec/json.ts, broker/message-frame.ts) that no test checked directly: the registry's
 * lookups, JSON's empty body and byte views, and every refusal of a malformed frame.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Packr } from "msgpackr";
import { decodeMessageFrame, encodeMessageFrame } from "../../src/broker/message-frame.js";
import { CodecRegistry } from "../../src/codec/codec.js";
import { createJsonCodec } from "../../src/codec/json.js";
import { createMsgpackCodec } from "../../src/codec/msgpack.js";
import { MicroError } from "../../src/errors.js";

const json = createJsonCodec();
const fake = (contentType: string) => ({
  contentType,
  encode: () => new Uint8Array(0),
  decode: () => contentType,
});

describe("codecs (pinned)", { timeout: 10_000 }, () => {
  it("the registry finds a codec by content type; an unknown one is a 415 under the caller's id, naming the supported types", () => {
    const reg = new CodecRegistry([json, fake("text/x-a")]);
    assert.equal(reg.get("application/json"), json);
    assert.equal(reg.has("text/x-a"), true);
    assert.equal(reg.has("text/x-b"), false);
    assert.deepEqual(reg.types(), ["application/json", "text/x-a"]);
    assert.throws(
      () => reg.get("text/x-b", "greeter"),
      (e: unknown) =>
        e instanceof MicroError &&
        e.id === "greeter" &&
        e.code === 415 &&
        e.detail === 'unsupported content type "text/x-b"; supported: application/json, text/x-a',
    );
    assert.throws(() => reg.get("text/x-b"), { id: "tsmicro" });
  });

  it("with() returns a new registry with one more codec (or a replaced one), leaving the first unchanged", () => {
    const reg = new CodecRegistry([json]);
    const more = reg.with(fake("text/x-a"));
    assert.deepEqual(more.types(), ["application/json", "text/x-a"]);
    assert.deepEqual(reg.types(), ["application/json"]);
    const replaced = more.with(fake("application/json"));
    assert.equal(replaced.get("application/json").decode(new Uint8Array(0)), "application/json");
  });

  it("JSON: undefined is an empty body, an empty body is {}, and a view into a larger buffer decodes only its bytes", () => {
    assert.equal(json.encode(undefined).length, 0);
    assert.deepEqual(json.decode(new Uint8Array(0)), {});
    assert.deepEqual(json.decode(json.encode({ a: [1, "é"] })), { a: [1, "é"] });
    const bytes = new TextEncoder().encode('xx{"k":1}yy');
    assert.deepEqual(json.decode(new Uint8Array(bytes.buffer, 2, 7)), { k: 1 }, "a Uint8Array view");
    assert.deepEqual(json.decode(Buffer.from(bytes).subarray(2, 9)), { k: 1 }, "a Buffer view");
    assert.throws(() => json.decode(new TextEncoder().encode("{nope")), SyntaxError);
  });
});

describe("broker message frame (pinned)", { timeout: 10_000 }, () => {
  const frame = (head: string, body = "") => {
    const h = Buffer.from(head);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(h.length);
    return Buffer.concat([len, h, Buffer.from(body)]);
  };
  const refused = (detail: RegExp) => (e: unknown) =>
    e instanceof MicroError && e.id === "tsmicro" && e.code === 400 && detail.test(e.detail);

  it("round-trips topic, headers and a binary body, with no bytes lost or added", () => {
    const body = new Uint8Array([0, 255, 10, 13, 0]);
    const raw = encodeMessageFrame("orders.créé", { headers: { a: "1", "x-é": "ü" }, body });
    const { topic, message } = decodeMessageFrame(raw);
    assert.equal(topic, "orders.créé");
    assert.deepEqual(message.headers, { a: "1", "x-é": "ü" });
    assert.deepEqual([...message.body], [...body]);
    assert.deepEqual(
      [...decodeMessageFrame(encodeMessageFrame("t", { headers: {}, body: new Uint8Array(0) })).message.body],
      [],
    );
  });

  it("refuses a frame shorter than its length, or whose length runs past its end, with a 400 saying so", () => {
    assert.throws(
      () => decodeMessageFrame(Buffer.from([0, 0, 0])),
      refused(/shorter than its 4-byte header length/),
    );
    assert.throws(
      () => decodeMessageFrame(Buffer.from([0, 0, 0, 0])),
      refused(/header is not valid JSON/),
      "4 bytes hold the length: an empty header is not JSON, not a short message",
    );
    const ok = frame('{"t":"a","h":{}}');
    assert.equal(decodeMessageFrame(ok).topic, "a", "a header that ends exactly at the end is fine");
    assert.throws(
      () => decodeMessageFrame(ok.subarray(0, ok.length - 1)),
      refused(/^http broker: header length 16 runs past the end of the 19-byte message$/),
    );
  });

  it("refuses a header that is not JSON, lacks a topic or headers object, or has a header that is not a string", () => {
    assert.throws(() => decodeMessageFrame(frame("{not json")), refused(/message header is not valid JSON/));
    const shape = /needs a topic \(t\) and a headers object \(h\)/;
    for (const head of [
      '{"h":{}}',
      '{"t":1,"h":{}}',
      '{"t":"a"}',
      '{"t":"a","h":null}',
      '{"t":"a","h":[]}',
      '{"t":"a","h":"x"}',
      "null",
    ]) {
      assert.throws(() => decodeMessageFrame(frame(head)), refused(shape), head);
    }
    assert.throws(
      () => decodeMessageFrame(frame('{"t":"a","h":{"ok":"1","n":2}}')),
      refused(/^http broker: header "n" is not a string$/),
    );
  });
});

describe("msgpack codec (pinned)", { timeout: 10_000 }, () => {
  const msgpack = createMsgpackCodec();

  it("writes plain msgpack maps that any peer reads (no msgpackr records), and undefined as an empty body", () => {
    // map16 { "a": 1 }: a standard map, where msgpackr's records would start with ext 0xd4 0x72.
    assert.deepEqual([...msgpack.encode({ a: 1 })], [0xde, 0x00, 0x01, 0xa1, 0x61, 0x01]);
    assert.deepEqual(
      [...msgpack.encode([{ a: 1 }, { a: 2 }])],
      [0x92, 0xde, 0x00, 0x01, 0xa1, 0x61, 0x01, 0xde, 0x00, 0x01, 0xa1, 0x61, 0x02],
    );
    assert.equal(msgpack.encode(undefined).length, 0);
    assert.deepEqual(msgpack.decode(new Uint8Array(0)), {});
  });

  it("refuses a cyclic value on the way out", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => msgpack.encode(cyclic));
  });

  it("reads back JSON-like values and binary (refusals: test/security/wire.test.ts)", () => {
    const value = { s: "x", n: [1, 2.5, -3], b: true, z: null, nested: { deep: [{ k: "v" }] } };
    assert.deepEqual(msgpack.decode(msgpack.encode(value)), value);
    const bin = msgpack.decode(msgpack.encode({ bin: Buffer.from([1, 2]) })) as { bin: Uint8Array };
    assert.deepEqual([...bin.bin], [1, 2]);
    assert.deepEqual(
      msgpack.decode(Uint8Array.from([0xc4, 0x01, 0x07])) instanceof Uint8Array,
      true,
      "top-level bin",
    );
    const nulProto = Uint8Array.from([0x81, 0xa1, 0x6b, 0xc0]);
    assert.deepEqual(msgpack.decode(nulProto), { k: null });
  });

  it("refuses each non-JSON type a hostile msgpackr sender can write with a 400 naming it, at any depth", () => {
    const hostile = new Packr({ useRecords: false, structuredClone: true, moreTypes: true });
    const cases: [string, unknown][] = [
      ["RegExp", { x: /a/ }],
      ["Error", [{ e: new Error("b") }]],
      ["Set", { deep: { s: new Set([1]) } }],
      ["Date", new Date(0)],
      ["Float64Array", { f: new Float64Array([1]) }],
      ["Int8Array", { i: new Int8Array([1]) }],
      ["undefined", { u: undefined }],
    ];
    for (const [kind, value] of cases) {
      assert.throws(
        () => msgpack.decode(hostile.pack(value)),
        (e: unknown) =>
          e instanceof MicroError &&
          e.id === "tsmicro" &&
          e.code === 400 &&
          e.detail ===
            `msgpack body holds a ${kind}; only JSON-like values (objects, arrays, strings, numbers, booleans, null, binary) are accepted`,
        kind,
      );
    }
    const bytes = msgpack.decode(hostile.pack({ u: new Uint8Array([1]), b: Buffer.from([2]) })) as Record<
      string,
      Uint8Array
    >;
    assert.deepEqual(
      [...bytes.u!, ...bytes.b!],
      [1, 2],
      "bytes, as Uint8Array or Buffer, are binary, not refused",
    );
  });
});
