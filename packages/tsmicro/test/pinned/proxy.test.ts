/**
 * Pinned behaviours of a contract's client side (contract/proxy.ts) over a recording target and
 * scripted streams: the request each method sends (service, wire name, content type, encoded
 * body) and the options (the contract's cache and idempotent marks, the proxy's defaults, the
 * call's own on top); decoded answers and the 502 for a wrong answer; response metadata through a
 * one-message stream; the typed fallback; client streams that stop with the call; bidi streams
 * mapped through the wire format.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Stream } from "../../src/client/client-stream.js";
import type { CallOptions } from "../../src/client/options.js";
import type { Request } from "../../src/client/request.js";
import { background } from "../../src/context.js";
import {
  bidiStream,
  clientStream,
  defineContract,
  serverStream,
  unary,
} from "../../src/contract/contract.js";
import { createServiceProxy, type ProxyTarget } from "../../src/contract/proxy.js";
import { MicroError } from "../../src/errors.js";
import { within } from "../helpers.js";
import { byteWire, type Msg } from "../support/byte-serde.js";

const wire = byteWire;

/** A stream that answers with `responses`, then finishes with `end` (finish() ends it early); records what was sent. */
function scripted(responses: unknown[], end?: MicroError, header = {}, trailer = {}) {
  const sent: unknown[] = [];
  const log: string[] = [];
  let finish!: (e: MicroError | undefined) => void;
  const finished = new Promise<MicroError | undefined>((r) => {
    finish = r;
  });
  const queue = [...responses];
  const s: Stream = {
    send: async (m) => {
      sent.push(m);
    },
    closeSend: () => log.push("closeSend"),
    close: (reason) => {
      log.push(`close:${reason}`);
      finish(new MicroError({ id: "x", code: 499, detail: reason ?? "" }));
    },
    recv: async () => {
      const m = queue.shift();
      // The server's end follows its last message.
      if (queue.length === 0) finish(end);
      return m;
    },
    signal: new AbortController().signal,
    finished,
    header,
    trailer,
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const m = queue.shift();
        if (m === undefined) break;
        yield m;
      }
      finish(end);
      if (end !== undefined) throw end;
    },
  };
  return { s, sent, log, finish };
}

/** A target that records each call and stream opened, answering from the test's queue. */
function target() {
  const calls: { request: Request; options: CallOptions | undefined }[] = [];
  const streams: { request: Request; options: CallOptions | undefined }[] = [];
  const answers: unknown[] = [];
  const opened: Stream[] = [];
  const t: ProxyTarget = {
    call: async (_ctx, request, options) => {
      calls.push({ request, options });
      const a = answers.shift();
      if (a instanceof Error) throw a;
      return a as never;
    },
    stream: async (_ctx, request, options) => {
      streams.push({ request, options });
      return opened.shift() as never;
    },
  };
  return { t, calls, streams, answers, opened };
}

const Shop = defineContract("Shop", {
  price: unary<Msg, Msg>({ cache: { ttlMs: 500 }, idempotent: true }),
  buy: unary<Msg, Msg>({ name: "Buy" }),
  bytes: unary<Msg, Msg>({ wire }),
  watch: serverStream<Msg, Msg>({ wire }),
  upload: clientStream<Msg, Msg>(),
  chat: bidiStream<Msg, Msg>({ wire }),
  plainChat: bidiStream<Msg, Msg>(),
});

describe("service proxy (pinned)", { timeout: 10_000 }, () => {
  it("unary: the request and the options — the contract's marks, then the proxy's defaults, then the call's", async () => {
    const { t, calls, answers } = target();
    const shop = createServiceProxy(t, Shop, "shop", { retries: 4, requestTimeoutMs: 100 });
    assert.ok(Object.isFrozen(shop));
    answers.push({ n: 1 }, { n: 2 }, { n: 3 });
    assert.deepEqual(await shop.price(background(), { n: 9 }), { n: 1 });
    await shop.buy(background(), { n: 8 }, { requestTimeoutMs: 5, metadata: { a: "b" } });
    await shop.price(background(), { n: 7 }, { cache: false, idempotent: false });
    assert.deepEqual(calls[0], {
      request: { service: "shop", endpoint: "Shop.price", body: { n: 9 }, contentType: undefined },
      options: { cache: { ttlMs: 500 }, idempotent: true, retries: 4, requestTimeoutMs: 100 },
    });
    assert.deepEqual(calls[1], {
      request: { service: "shop", endpoint: "Shop.Buy", body: { n: 8 }, contentType: undefined },
      options: { retries: 4, requestTimeoutMs: 5, metadata: { a: "b" } },
    });
    assert.deepEqual(calls[2]!.options, {
      cache: false,
      idempotent: false,
      retries: 4,
      requestTimeoutMs: 100,
    });
  });

  it("a binary endpoint sends bytes with its content type and decodes bytes; anything else back is a 502", async () => {
    const { t, calls, answers } = target();
    const shop = createServiceProxy(t, Shop, "shop");
    answers.push(Uint8Array.of(42), { n: 1 });
    assert.deepEqual(await shop.bytes(background(), { n: 5 }), { n: 42 });
    assert.deepEqual(calls[0]!.request, {
      service: "shop",
      endpoint: "Shop.bytes",
      body: Uint8Array.of(5),
      contentType: "application/x-byte",
    });
    const e = await shop.bytes(background(), { n: 5 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof MicroError);
    assert.equal(e.code, 502);
    assert.equal(e.id, "shop");
    assert.equal(e.retryable, false);
    assert.equal(e.detail, "Shop.bytes: expected application/x-byte bytes, got object");
  });

  it("the fallback answers a failed call with the error and the typed request; it is not passed on to the client", async () => {
    const { t, calls, answers } = target();
    const shop = createServiceProxy(t, Shop, "shop");
    answers.push(new Error("down"));
    const got = await shop.buy(
      background(),
      { n: 3 },
      { fallback: (err, req) => ({ n: req.n * 10 + err.code }) },
    );
    assert.deepEqual(got, { n: 530 });
    assert.equal(calls[0]!.options?.fallback, undefined);
    answers.push({ n: 1 });
    assert.deepEqual(await shop.buy(background(), { n: 3 }, { fallback: () => ({ n: -1 }) }), { n: 1 });
    answers.push(new MicroError({ id: "shop", code: 409, detail: "sold out" }));
    await assert.rejects(
      shop.buy(background(), { n: 1 }, { fallback: (err) => Promise.reject(err) }),
      (err: unknown) => err instanceof MicroError && err.code === 409,
    );
  });

  it("responseMetadata: a unary call made as a one-message stream, header and trailer filled, even on failure", async () => {
    const { t, streams, opened, calls } = target();
    const shop = createServiceProxy(t, Shop, "shop", { retries: 2 });
    const ok = scripted([Uint8Array.of(7)], undefined, { h: "1" }, { t: "2" });
    opened.push(ok.s);
    const md = { header: {}, trailer: {} };
    assert.deepEqual(await shop.bytes(background(), { n: 6 }, { responseMetadata: md }), { n: 7 });
    assert.deepEqual(md, { header: { h: "1" }, trailer: { t: "2" } });
    assert.equal(calls.length, 0);
    assert.deepEqual(streams[0]!.request.body, Uint8Array.of(6));
    assert.deepEqual(streams[0]!.options, { retries: 2 }, "responseMetadata is not passed to the client");
    assert.deepEqual(ok.log, ["closeSend"]);

    const empty = scripted([], undefined, {}, { why: "none" });
    opened.push(empty.s);
    const md2 = { header: {}, trailer: {} };
    const e = await shop.buy(background(), { n: 1 }, { responseMetadata: md2 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof MicroError);
    assert.equal(e.code, 502);
    assert.equal(e.detail, "Shop.Buy ended without a response");
    assert.deepEqual(md2.trailer, { why: "none" });
  });

  it("a server stream opens on the first next(), with the request as its first message, and decodes each answer", async () => {
    const { t, streams, opened } = target();
    const shop = createServiceProxy(t, Shop, "shop");
    const s = scripted([Uint8Array.of(1), Uint8Array.of(2)], undefined, { h: "x" });
    opened.push(s.s);
    const md = { header: {}, trailer: {} };
    const responses = shop.watch(background(), { n: 4 }, { responseMetadata: md });
    assert.equal(streams.length, 0, "nothing opened before iterating");
    const got: Msg[] = [];
    for await (const m of responses) got.push(m);
    assert.deepEqual(got, [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(streams[0]!.request, {
      service: "shop",
      endpoint: "Shop.watch",
      body: Uint8Array.of(4),
      contentType: "application/x-byte",
    });
    assert.deepEqual(s.log, ["closeSend"]);
    assert.deepEqual(md.header, { h: "x" });
  });

  it("a client stream sends each request, half-closes, and returns the answer; none is a 502", async () => {
    const { t, streams, opened } = target();
    const shop = createServiceProxy(t, Shop, "shop");
    const s = scripted([{ n: 6 }]);
    opened.push(s.s);
    assert.deepEqual(await shop.upload(background(), [{ n: 1 }, { n: 2 }]), { n: 6 });
    assert.deepEqual(s.sent, [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(s.log, ["closeSend"]);
    assert.equal(streams[0]!.request.body, undefined, "no first message");

    const none = scripted([]);
    opened.push(none.s);
    const e = await shop.upload(background(), (async function* () {})()).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof MicroError);
    assert.equal(e.detail, "Shop.upload ended without a response");
  });

  it("a client stream whose call ends while the producer blocks stops at once with the call's error", async () => {
    const { t, opened } = target();
    const shop = createServiceProxy(t, Shop, "shop");
    const s = scripted([]);
    opened.push(s.s);
    let returned = false;
    const blocked: AsyncIterable<Msg> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<Msg>>(() => {}),
        return: async () => {
          returned = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const uploading = shop.upload(background(), blocked);
    const deadline = new MicroError({ id: "shop", code: 408, detail: "deadline exceeded" });
    setTimeout(() => s.finish(deadline), 20);
    const e = await within(
      uploading.then(
        () => undefined,
        (err: unknown) => err,
      ),
      2000,
      "the upload to stop with its call",
    );
    assert.equal(e, deadline);
    assert.equal(returned, true, "the producer was told to stop");
  });

  it("a client stream whose producer throws cancels the call and reports the producer's error", async () => {
    const { t, opened } = target();
    const shop = createServiceProxy(t, Shop, "shop");
    const s = scripted([]);
    opened.push(s.s);
    const bad = (async function* () {
      yield { n: 1 };
      throw new Error("producer broke");
    })();
    await assert.rejects(shop.upload(background(), bad), /producer broke/);
    assert.deepEqual(s.log, ["close:the client's request stream failed"]);
  });

  it("bidi: the stream as is without a wire format; through the wire format with one", async () => {
    const { t, opened } = target();
    const shop = createServiceProxy(t, Shop, "shop");
    const plain = scripted([]);
    opened.push(plain.s);
    assert.equal(await shop.plainChat(background()), plain.s);

    const raw = scripted(
      [Uint8Array.of(3), Uint8Array.of(4), Uint8Array.of(5)],
      undefined,
      { h: "1" },
      { t: "2" },
    );
    opened.push(raw.s);
    const chat = await shop.chat(background());
    await chat.send({ n: 9 });
    assert.deepEqual(raw.sent, [Uint8Array.of(9)]);
    assert.deepEqual(await chat.recv(), { n: 3 });
    const rest: Msg[] = [];
    for await (const m of chat) rest.push(m);
    assert.deepEqual(rest, [{ n: 4 }, { n: 5 }]);
    assert.equal(await chat.recv(), undefined);
    chat.closeSend();
    chat.close("done");
    assert.deepEqual(raw.log, ["closeSend", "close:done"]);
    assert.equal(chat.signal, raw.s.signal);
    assert.equal(chat.finished, raw.s.finished);
    assert.deepEqual([chat.header, chat.trailer], [{ h: "1" }, { t: "2" }]);
  });
});
