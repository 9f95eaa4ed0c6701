/**
 * Security regressions on the TCP wire and the codecs (issue 19): a reused request id, a
 * non-JSON msgpack body, mixed-case metadata keys and an overflowing timeout.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Packr } from "msgpackr";
import { newClient } from "../../src/client/client.js";
import { newRequest } from "../../src/client/request.js";
import { createMsgpackCodec } from "../../src/codec/msgpack.js";
import { background } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import { type MicroService, newService } from "../../src/service/service.js";
import { decodeRequestHeaders, encodeRequestHeaders } from "../../src/transport/headers.js";
import { createTcpTransport } from "../../src/transport/tcp.js";
import { encodeFrame, FrameType, frameError, openRaw, PREFACE, waitUntil } from "../support/raw-peer.js";

const registry = createMemoryRegistry();
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let release: () => void = () => {};
const seen: Record<string, string>[] = [];
class Work {
  async hold(ctx: { signal: AbortSignal }, _req: unknown) {
    // Ends when released or cancelled: a handler the server forgot would hold forever.
    await new Promise<void>((resolve) => {
      const prev = release;
      release = () => {
        prev();
        resolve();
      };
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    return { held: true };
  }
  async slow(ctx: { metadata: Record<string, string> }, _req: unknown) {
    seen.push({ ...ctx.metadata });
    await new Promise((r) => setTimeout(r, 30));
    return { slow: true };
  }
}

async function serve(): Promise<MicroService> {
  const service = newService({
    name: "sec",
    registry,
    transport: createTcpTransport({ log: () => {} }),
  }).handle(new Work());
  await service.start();
  cleanups.push(() => service.stop());
  return service;
}

function rawRequest(id: number, endpoint: string, extra: Record<string, unknown> = {}): Buffer {
  const header = JSON.stringify({ s: "sec", e: endpoint, c: "application/json", ...extra });
  return encodeFrame(FrameType.Request, id, header, Buffer.from("{}"));
}

describe("security: the TCP wire", () => {
  test("a request id reused while in flight is refused (400), so one id cannot run unlimited handlers", async () => {
    const service = await serve();
    const peer = await openRaw(service.address);
    cleanups.push(() => void peer.socket.destroy());
    peer.socket.write(PREFACE);
    for (let i = 0; i < 50; i++) peer.socket.write(rawRequest(7, "Work.hold"));
    await waitUntil(() => peer.frames.length >= 49, 3000, "49 refusals of the reused id");
    assert.equal(service.inflight().filter((r) => r.endpoint === "Work.hold").length, 1);
    for (const f of peer.frames) {
      assert.equal(f.type, FrameType.Error);
      assert.equal(f.id, 7);
      const e = frameError(f);
      assert.equal(e.code, 400);
      assert.match(e.detail, /request id 7 is already in flight/);
    }
    // The one running request is cancelled when the peer goes: nothing is left running.
    peer.socket.destroy();
    await waitUntil(
      () => service.inflight().filter((r) => r.endpoint === "Work.hold").length === 0,
      3000,
      "the held request to end after the peer disconnected",
    );
    release();
  });

  test("metadata keys are lower-cased on decode; two spellings of one key are refused", () => {
    const h = decodeRequestHeaders(
      Buffer.from(
        JSON.stringify({ s: "a", e: "b", c: "application/json", m: { Authorization: "Bearer x" } }),
      ),
      { maxHeaderBytes: 65536, maxMetadataEntries: 128 },
    );
    assert.deepEqual(h.metadata, { authorization: "Bearer x" });
    assert.throws(
      () =>
        decodeRequestHeaders(
          Buffer.from(
            JSON.stringify({
              s: "a",
              e: "b",
              c: "application/json",
              m: { Authorization: "1", authorization: "2" },
            }),
          ),
          { maxHeaderBytes: 65536, maxMetadataEntries: 128 },
        ),
      (e: unknown) => e instanceof MicroError && e.code === 400 && /appears twice/.test(e.detail),
    );
  });

  test("a timeout of 2^31 ms or more is clamped: the call is served, no TimeoutOverflowWarning", async () => {
    const service = await serve();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    cleanups.push(() => void process.off("warning", onWarning));
    const peer = await openRaw(service.address);
    cleanups.push(() => void peer.socket.destroy());
    peer.socket.write(PREFACE);
    peer.socket.write(rawRequest(1, "Work.slow", { t: 2 ** 31 }));
    peer.socket.write(rawRequest(2, "Work.slow", { t: 2 ** 40, m: { "X-Trace": "t" } }));
    await waitUntil(() => peer.frames.length === 2, 3000, "two answers");
    for (const f of peer.frames) assert.equal(f.type, FrameType.Response, f.body.toString());
    // Warnings are emitted on the next tick: give them one macrotask.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings, []);
    assert.deepEqual(seen.at(-1), { "x-trace": "t" });
    assert.equal(
      decodeRequestHeaders(
        Buffer.from(
          encodeRequestHeaders({ service: "a", endpoint: "b", contentType: "c", timeoutMs: 2 ** 45 }),
        ),
        {
          maxHeaderBytes: 65536,
          maxMetadataEntries: 128,
        },
      ).timeoutMs,
      2 ** 31 - 1,
    );
  });
});

describe("security: msgpack decodes only JSON-like values", () => {
  const codec = createMsgpackCodec();
  // A sender with every msgpackr extension on, as a hostile peer would use.
  const hostile = new Packr({ useRecords: false, structuredClone: true, moreTypes: true });
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const cases: [string, unknown][] = [
    ["RegExp", { sep: /(a+)+$/ }],
    ["Error", { e: new Error("boom") }],
    ["Set", { s: new Set([1, 2]) }],
    ["Map", { m: new Map([[{}, 1]]) }],
    ["BigInt", { n: 2n ** 70n }],
    ["typed array", { f: new Float64Array([1, 2]) }],
    ["Date", { d: new Date(0) }],
    ["cyclic graph", cyclic],
  ];
  for (const [name, value] of cases) {
    test(`a ${name} is refused with a 400`, () => {
      const bytes = hostile.pack(value);
      assert.throws(
        () => codec.decode(bytes),
        (e: unknown) => (e instanceof MicroError && e.code === 400) || e instanceof Error,
      );
      let decoded: unknown;
      try {
        decoded = codec.decode(bytes);
      } catch {
        return;
      }
      assert.fail(`decoded ${String(decoded)}`);
    });
  }

  test("JSON-like values and binary still round-trip", () => {
    const v = { a: [1, "x", null, true, { b: 2.5 }], big: 2 ** 60, bin: Buffer.from([1, 2, 3]) };
    const back = codec.decode(codec.encode(v)) as typeof v;
    assert.deepEqual(back.a, v.a);
    assert.equal(back.big, 2 ** 60);
    assert.deepEqual([...back.bin], [1, 2, 3]);
  });

  test("a handler never receives a RegExp over the wire", async () => {
    const service = await serve();
    const client = newClient({ registry, retries: 0, contentType: "application/msgpack" });
    cleanups.push(() => client.close());
    // The body is packed by the hostile packer through a raw frame.
    const peer = await openRaw(service.address);
    cleanups.push(() => void peer.socket.destroy());
    peer.socket.write(PREFACE);
    const header = JSON.stringify({ s: "sec", e: "Work.slow", c: "application/msgpack" });
    peer.socket.write(encodeFrame(FrameType.Request, 3, header, hostile.pack({ sep: /x/ })));
    await waitUntil(() => peer.frames.length === 1, 3000, "the answer to a RegExp body");
    assert.equal(peer.frames[0]!.type, FrameType.Error);
    assert.equal(frameError(peer.frames[0]!).code, 400);
    // And a good msgpack call still works.
    const out = await client.call(background(), newRequest("sec", "Work.slow", {}), {
      address: service.address,
    });
    assert.deepEqual(out, { slow: true });
  });
});
