/**
 * Pinned behaviours of streams on the multiplexed connection (transport/mux-stream.ts): a client's
 * ClientStreams wired to a server's ServerStreams through in-memory frame delivery (each frame
 * decoded and handed over on the next microtask, as a socket would), so every frame can be seen.
 * The open and its refusals, messages both ways, header and trailer metadata, half-close and the
 * server's end, errors from either side, send after the end, flow control (credit spent, a
 * writer held, credit granted back as the reader consumes), stopping early on either side,
 * oversized messages, and a connection that goes away.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import { FrameType } from "../../src/transport/frame.js";
import {
  ClientStreams,
  ServerStreams,
  type ServerStreamsOptions,
  STREAM_WINDOW_BYTES,
} from "../../src/transport/mux-stream.js";
import type { InboundStream, RequestHeaders } from "../../src/transport/transport.js";
import { microError, until, within } from "../helpers.js";

interface Seen {
  dir: "c>s" | "s>c";
  type: number;
  id: number;
  header: string;
  body: Buffer;
}

const H: RequestHeaders = { service: "chat", endpoint: "Chat.talk", contentType: "application/json" };
const msg = (s: string) => Buffer.from(s);

/** A client and a server wired together; `handled` holds the server's inbound streams. */
function pair(o: Partial<ServerStreamsOptions> & { handler?: false; clientMax?: number } = {}) {
  const seen: Seen[] = [];
  const handled: InboundStream[] = [];
  let clientDone = 0;
  const parse = (f: Buffer, dir: Seen["dir"]): Seen => {
    const hlen = f.readUInt32BE(9);
    return {
      dir,
      type: f[4]!,
      id: f.readUInt32BE(5),
      header: f.subarray(13, 13 + hlen).toString("utf8"),
      body: Buffer.from(f.subarray(13 + hlen)),
    };
  };
  let server!: ServerStreams;
  const client = new ClientStreams(
    (f) => {
      const s = parse(f, "c>s");
      seen.push(s);
      queueMicrotask(() => server.onFrame(s.type, s.id, Buffer.from(s.header), s.body));
    },
    o.clientMax ?? 4 * 1024 * 1024,
    "127.0.0.1:7",
    () => clientDone++,
  );
  server = new ServerStreams(
    (f) => {
      const s = parse(f, "s>c");
      seen.push(s);
      queueMicrotask(() => client.onFrame(s.type, s.id, Buffer.from(s.header), s.body));
    },
    "127.0.0.1:9",
    { maxFrameBytes: 4 * 1024 * 1024, maxHeaderBytes: 65536, maxMetadataEntries: 128, ...o },
    o.handler === false ? undefined : (s) => handled.push(s),
  );
  return { client, server, seen, handled, clientDone: () => clientDone };
}

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const tick = () => new Promise((r) => setImmediate(r));

describe("stream multiplexing (pinned)", { timeout: 20_000 }, () => {
  it("the open carries the request headers; messages go both ways; the server's end finishes the call with its trailer", async () => {
    const { client, seen, handled, clientDone } = pair();
    const c = client.open(3, { ...H, metadata: { tenant: "a" } }, new AbortController().signal);
    assert.equal(client.size, 1);
    assert.equal(client.has(3), true);
    await until(() => handled.length === 1, "the server to see the stream");
    const s = handled[0]!;
    assert.equal(s.headers.endpoint, "Chat.talk");
    assert.deepEqual(s.headers.metadata, { tenant: "a" });
    assert.equal(s.peer, "127.0.0.1:9");
    assert.equal(seen[0]!.header.startsWith('{"s"'), true);

    await c.send(msg("hi"));
    const it = s[Symbol.asyncIterator]();
    assert.equal(text((await it.next()).value), "hi");
    s.setHeader({ h: "1" });
    s.setHeader({ h2: "2" });
    await s.send(msg("hello"));
    s.setHeader({ late: "x" });
    s.setTrailer({ t: "1" });
    const ci = c[Symbol.asyncIterator]();
    assert.equal(text((await ci.next()).value), "hello");
    assert.deepEqual(
      c.header,
      { h: "1", h2: "2" },
      "the header before the first message; later ones dropped",
    );
    s.closeSend();
    assert.equal((await ci.next()).done, true);
    assert.deepEqual(c.trailer, { t: "1" });
    assert.equal(await within(c.finished, 2000, "the client's end"), undefined);
    assert.equal(await within(s.finished, 2000, "the server's end"), undefined);
    assert.equal(client.size, 0);
    assert.equal(clientDone(), 1);
    const kinds = seen.filter((f) => f.dir === "s>c").map((f) => [f.type, f.header]);
    assert.deepEqual(kinds, [
      [FrameType.StreamMessage, '{"m":{"h":"1","h2":"2"}}'],
      [FrameType.StreamMessage, ""],
      [FrameType.StreamEnd, '{"m":{"t":"1"}}'],
    ]);
  });

  it("the client's closeSend is a half-close: the server's reading ends, it may still answer; send after it is a 409", async () => {
    const { client, handled } = pair();
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    const s = handled[0]!;
    await c.send(msg("a"));
    c.closeSend();
    c.closeSend();
    const got: string[] = [];
    for await (const m of s) got.push(text(m));
    assert.deepEqual(got, ["a"]);
    const late = await microError(c.send(msg("b")), "a send after closeSend");
    assert.equal(late.code, 409);
    assert.equal(late.detail, "stream to chat.Chat.talk: send after closeSend()");
    await s.send(msg("answer"));
    s.closeSend();
    const answers: string[] = [];
    for await (const m of c) answers.push(text(m));
    assert.deepEqual(answers, ["answer"]);
    const after = await microError(s.send(msg("more")), "a server send after its end");
    assert.equal(after.detail, "stream to chat.Chat.talk: send after closeSend()");
  });

  it("a client send after the server finished is a 409 saying so; an end with an error reaches the other side's reads, sends and signal", async () => {
    const { client, handled } = pair();
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    handled[0]!.closeSend();
    await within(c.finished, 2000, "the server's end");
    const e = await microError(c.send(msg("x")), "a send after the server's end");
    assert.equal(e.detail, "stream to chat.Chat.talk has ended: the server finished the call");

    const c2 = client.open(2, H, new AbortController().signal);
    await until(() => handled.length === 2, "the second stream");
    const s2 = handled[1]!;
    s2.setTrailer({ why: "quota" });
    s2.abort(new MicroError({ id: "chat", code: 429, detail: "slow down" }));
    const err = await within(c2.finished, 2000, "the error end");
    assert.equal(err?.code, 429);
    assert.equal(c2.signal.aborted, true);
    assert.deepEqual(c2.trailer, { why: "quota" });
    assert.equal((await microError(c2[Symbol.asyncIterator]().next(), "a read after the error")).code, 429);
    assert.equal((await microError(c2.send(msg("x")), "a send after the error")).code, 429);

    const c3 = client.open(3, H, new AbortController().signal);
    await until(() => handled.length === 3, "the third stream");
    c3.abort(new MicroError({ id: "web", code: 499, detail: "gave up" }));
    const s3 = handled[2]!;
    assert.equal((await within(s3.finished, 2000, "the server to see the cancel"))?.detail, "gave up");
    assert.equal(s3.signal.aborted, true);
  });

  it("the caller's signal cancels the stream on both sides; an aborted one ends it at once", async () => {
    const { client, handled, seen } = pair();
    const ac = new AbortController();
    const c = client.open(1, H, ac.signal);
    await until(() => handled.length === 1, "the stream");
    ac.abort(new MicroError({ id: "web", code: 499, detail: "tab closed" }));
    assert.equal((await within(c.finished, 2000, "the cancel"))?.detail, "tab closed");
    assert.equal((await within(handled[0]!.finished, 2000, "the server's side"))?.detail, "tab closed");

    const done = new AbortController();
    done.abort(new MicroError({ id: "web", code: 499, detail: "before" }));
    const c2 = client.open(2, H, done.signal);
    assert.equal((await within(c2.finished, 2000, "the pre-aborted stream"))?.detail, "before");
    assert.ok(seen.some((f) => f.id === 2 && f.type === FrameType.StreamEnd && f.dir === "c>s"));
  });

  it("flow control: a writer is held once its window is spent and released as the reader consumes", async () => {
    const { client, handled, seen } = pair();
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    const chunk = Buffer.alloc(64 * 1024);
    const perWindow = Math.ceil(STREAM_WINDOW_BYTES / (chunk.length + 16));
    let sent = 0;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < perWindow + 3; i++) sends.push(c.send(chunk).then(() => void sent++));
    await tick();
    await tick();
    assert.equal(
      sent,
      perWindow,
      `sends within the window go at once (${perWindow} of ${chunk.length} bytes)`,
    );
    c.closeSend();
    const s = handled[0]!;
    const it = s[Symbol.asyncIterator]();
    let read = 0;
    while (!(await it.next()).done) read++;
    assert.equal(read, perWindow + 3, "every message arrived, the held ones after credit came back");
    await Promise.all(sends);
    const grants = seen.filter((f) => f.dir === "s>c" && f.header.startsWith('{"w"'));
    assert.ok(grants.length >= 1, "credit was granted back");
    assert.ok(
      grants.every((g) => Number(JSON.parse(g.header).w) >= STREAM_WINDOW_BYTES / 4),
      "in grants of at least a quarter window",
    );
  });

  it("a message over the frame limit is refused (413); one skipped as oversized ends the stream", async () => {
    const { client, server, handled } = pair({ maxFrameBytes: 100 });
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    const s = handled[0]!;
    const big = await microError(s.send(Buffer.alloc(200)), "an oversized server message");
    assert.equal(big.code, 413);
    assert.equal(
      big.detail,
      "stream message to chat.Chat.talk is 213 bytes, over the frame limit of 100 bytes",
    );
    server.oversized(1, 5000);
    const e = await within(s.finished, 2000, "the oversized end");
    assert.equal(e?.detail, "stream message of 5000 bytes exceeds the server's frame limit of 100 bytes");
    assert.equal((await within(c.finished, 2000, "the client's side"))?.code, 413);

    const c2 = client.open(2, H, new AbortController().signal);
    client.oversized(2, 9000);
    assert.equal(
      (await within(c2.finished, 2000, "the client's oversized end"))?.detail,
      "stream message of 9000 bytes exceeds the client's frame limit of 4194304 bytes",
    );
  });

  it("the server refuses a bad open (400), one over the stream limit (429), and all when it serves no streams (501)", async () => {
    const limited = pair({ maxInflightPerConnection: 1 });
    limited.client.open(1, H, new AbortController().signal);
    const over = limited.client.open(2, H, new AbortController().signal);
    const e = await within(over.finished, 2000, "the refusal over the limit");
    assert.equal(e?.code, 429);
    assert.equal(
      e.detail,
      "stream to chat.Chat.talk refused: 1 streams already open on this connection, the limit is 1",
    );
    assert.equal(limited.handled.length, 1);

    const none = pair({ handler: false });
    const n = none.client.open(1, H, new AbortController().signal);
    const ne = await within(n.finished, 2000, "the refusal without streams");
    assert.equal(ne?.code, 501);
    assert.equal(ne.detail, "this server does not serve streams (chat.Chat.talk)");

    const bad = pair({ maxMetadataEntries: 1 });
    const b = bad.client.open(1, { ...H, metadata: { a: "1", b: "2" } }, new AbortController().signal);
    assert.equal((await within(b.finished, 2000, "the bad open"))?.code, 400);
    bad.server.onFrame(FrameType.StreamMessage, 9, Buffer.from("{}"), Buffer.alloc(0));
    bad.server.onFrame(FrameType.StreamMessage, 9, Buffer.alloc(0), Buffer.from("late"));
    bad.server.onFrame(FrameType.StreamEnd, 9, Buffer.alloc(0), Buffer.alloc(0));
    assert.equal(bad.handled.length, 0, "frames that open nothing are dropped");
  });

  it("a client that stops reading cancels the call; a server that stops reading drops what comes and keeps credit flowing", async () => {
    const { client, handled } = pair();
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    await c[Symbol.asyncIterator]().return?.();
    const e = await within(handled[0]!.finished, 2000, "the server to see the client walk away");
    assert.equal(e?.code, 499);
    assert.equal(e.detail, "the client stopped reading the stream");

    const c2 = client.open(2, H, new AbortController().signal);
    await until(() => handled.length === 2, "the second stream");
    const s2 = handled[1]!;
    await s2[Symbol.asyncIterator]().return?.();
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < 40; i++) await within(c2.send(chunk), 2000, `send ${i} past a reader that stopped`);
    s2.closeSend();
    assert.equal(await within(c2.finished, 2000, "the end"), undefined);
  });

  it("one reader at a time; a connection that goes away fails every stream", async () => {
    const { client, server, handled } = pair();
    const c = client.open(1, H, new AbortController().signal);
    const pending = c[Symbol.asyncIterator]().next();
    await assert.rejects(c[Symbol.asyncIterator]().next(), /stream: next\(\) called concurrently/);
    await until(() => handled.length === 1, "the stream");
    const gone = new MicroError({ id: "x", code: 503, detail: "connection lost" });
    client.failAll(gone);
    assert.equal((await microError(pending, "the waiting read")).detail, "connection lost");
    assert.equal(await within(c.finished, 2000, "the failed stream to finish"), gone);
    server.closeAll(gone);
    assert.equal(await handled[0]!.finished, gone);
    assert.equal(server.size, 0);
    assert.equal(client.size, 0);
  });

  it("control headers that do not parse, metadata that is not strings, or a credit grant below 1 are ignored", async () => {
    const { client, handled } = pair();
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    client.onFrame(FrameType.StreamMessage, 1, Buffer.from("{oops"), Buffer.alloc(0));
    client.onFrame(FrameType.StreamMessage, 1, Buffer.from('{"m":{"n":1}}'), Buffer.alloc(0));
    client.onFrame(FrameType.StreamMessage, 1, Buffer.from('{"m":["x"]}'), Buffer.alloc(0));
    client.onFrame(FrameType.StreamMessage, 1, Buffer.from('{"w":-2000000}'), Buffer.alloc(0));
    client.onFrame(FrameType.StreamMessage, 1, Buffer.from("7"), Buffer.alloc(0));
    assert.deepEqual(c.header, {});
    let sent = false;
    void c.send(msg("x")).then(() => {
      sent = true;
    });
    await tick();
    assert.equal(sent, true, "a negative credit grant took no credit away");
    handled[0]!.closeSend();
    assert.equal(await within(c.finished, 2000, "the end"), undefined);
  });
  it("edges of the window and the frame limit: credit spent to exactly 0 holds the next send; exactly the limit is sent; the 413s are not retryable", async () => {
    const { client, handled } = pair({ maxFrameBytes: 2 * 1024 * 1024 });
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    await c.send(Buffer.alloc(STREAM_WINDOW_BYTES - 16)); // the whole window, with its 16-byte cost
    let held = true;
    const next = c.send(msg("x")).then(() => {
      held = false;
    });
    await tick();
    assert.equal(held, true, "no credit left: held");
    const it = handled[0]![Symbol.asyncIterator]();
    await it.next();
    await within(next, 2000, "the held send once the reader consumed");

    const small = pair({ maxFrameBytes: 100 });
    small.client.open(1, H, new AbortController().signal);
    await until(() => small.handled.length === 1, "the small stream");
    await within(small.handled[0]!.send(Buffer.alloc(87)), 2000, "a message of exactly the limit (13 + 87)");
    const big = await microError(small.handled[0]!.send(Buffer.alloc(88)), "one byte over");
    assert.equal(big.retryable, false);
    small.server.oversized(1, 500);
    const e = await within(small.handled[0]!.finished, 2000, "the oversized end");
    assert.equal(e?.retryable, false);
    assert.equal(e.id, "tsmicro");
    const c2 = small.client.open(3, H, new AbortController().signal);
    small.client.oversized(3, 9000);
    const e2 = await within(c2.finished, 2000, "the client's oversized end");
    assert.equal(e2?.retryable, false);
    assert.equal(e2.id, "127.0.0.1:7");
  });

  it("headers and trailers: none set, none sent; a header set without a message goes before the end; the client's ends carry no header", async () => {
    const { client, handled, seen } = pair();
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    const s = handled[0]!;
    await s.send(msg("a"));
    s.closeSend();
    await within(c.finished, 2000, "the end");
    assert.deepEqual(
      seen.filter((f) => f.dir === "s>c" && f.id === 1).map((f) => [f.type, f.header]),
      [
        [FrameType.StreamMessage, ""],
        [FrameType.StreamEnd, ""],
      ],
      "no header frame and an empty trailer when none was set",
    );
    assert.equal(c.signal.aborted, false, "a clean end aborts nothing");

    const c2 = client.open(2, H, new AbortController().signal);
    await until(() => handled.length === 2, "the second stream");
    handled[1]!.setHeader({ h: "1" });
    handled[1]!.closeSend();
    await within(c2.finished, 2000, "the second end");
    assert.deepEqual(c2.header, { h: "1" }, "sent before the end, though no message went");

    const c3 = client.open(3, H, new AbortController().signal);
    await until(() => handled.length === 3, "the third stream");
    c3.closeSend();
    c3.abort(new MicroError({ id: "web", code: 499, detail: "gone" }));
    const ends = seen.filter((f) => f.dir === "c>s" && f.id === 3 && f.type === FrameType.StreamEnd);
    assert.deepEqual(
      ends.map((f) => f.header),
      ["", ""],
      "the client's half-close and abort carry no trailer",
    );
    c3.abort(new MicroError({ id: "web", code: 499, detail: "again" }));
    c3.closeSend();
    assert.equal(
      seen.filter((f) => f.dir === "c>s" && f.id === 3 && f.type === FrameType.StreamEnd).length,
      2,
      "nothing more once finished",
    );
  });

  it("the server's own end ends its reading too; a message after the peer's end is dropped", async () => {
    const { client, server, handled } = pair();
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    const s = handled[0]!;
    s.closeSend();
    assert.equal(
      (await within(s[Symbol.asyncIterator]().next(), 2000, "a read after the server's end")).done,
      true,
    );
    await within(c.finished, 2000, "the end");

    const c2 = client.open(2, H, new AbortController().signal);
    await until(() => handled.length === 2, "the second stream");
    const s2 = handled[1]!;
    c2.closeSend();
    const it = s2[Symbol.asyncIterator]();
    assert.equal((await within(it.next(), 2000, "the client's end")).done, true);
    server.onFrame(FrameType.StreamMessage, 2, Buffer.alloc(0), msg("late"));
    assert.equal((await within(it.next(), 2000, "a read after the late message")).done, true, "dropped");
    s2.closeSend();
  });

  it("sends held by the window fail with the end when the server finishes; a half-close with sends held ends once, after them", async () => {
    const { client, handled, seen } = pair();
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    await c.send(Buffer.alloc(STREAM_WINDOW_BYTES - 16));
    const held = microError(c.send(msg("held")), "the held send");
    handled[0]!.closeSend();
    const e = await held;
    assert.equal(e.code, 409);
    assert.equal(e.detail, "stream to chat.Chat.talk has ended: the server finished the call");
    assert.equal(e.retryable, false);

    const c2 = client.open(2, H, new AbortController().signal);
    await until(() => handled.length === 2, "the second stream");
    await c2.send(Buffer.alloc(STREAM_WINDOW_BYTES - 16));
    const sends = [c2.send(msg("1")), c2.send(msg("2"))];
    c2.closeSend();
    const got: string[] = [];
    for await (const m of handled[1]!) got.push(m.length > 10 ? "big" : text(m));
    await within(Promise.all(sends), 2000, "the held sends");
    assert.deepEqual(got, ["big", "1", "2"]);
    assert.equal(
      seen.filter((f) => f.dir === "c>s" && f.id === 2 && f.type === FrameType.StreamEnd).length,
      1,
      "one end, after the held messages",
    );
    handled[1]!.closeSend();
  });

  it("a server that stops reading gives back the credit of what it had not read", async () => {
    const { client, handled } = pair();
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    await c.send(Buffer.alloc(STREAM_WINDOW_BYTES - 16)); // unread: the whole window
    await tick();
    await handled[0]![Symbol.asyncIterator]().return?.();
    await within(c.send(msg("after")), 2000, "a send once the unread window was given back");
    handled[0]!.closeSend();
  });

  it("control frames: null, mixed metadata and a bad trailer are ignored; frames that open nothing answer nothing", async () => {
    const { client, server, handled, seen } = pair();
    const c = client.open(1, H, new AbortController().signal);
    await until(() => handled.length === 1, "the stream");
    client.onFrame(FrameType.StreamMessage, 1, Buffer.from("null"), Buffer.alloc(0));
    client.onFrame(FrameType.StreamMessage, 1, Buffer.from('{"m":{"a":"x","n":1}}'), Buffer.alloc(0));
    assert.deepEqual(c.header, {}, "metadata with one value that is not a string is ignored whole");
    client.onFrame(FrameType.StreamEnd, 1, Buffer.from('{"m":{"t":2}}'), Buffer.alloc(0));
    assert.equal(await within(c.finished, 2000, "the end"), undefined);
    assert.deepEqual(c.trailer, {}, "a trailer with a value that is not a string is ignored");

    const before = seen.filter((f) => f.dir === "s>c").length;
    server.onFrame(FrameType.StreamMessage, 9, Buffer.from("{}"), Buffer.alloc(0));
    server.onFrame(FrameType.StreamMessage, 9, Buffer.from('{"x":1}'), Buffer.alloc(0));
    server.onFrame(FrameType.StreamEnd, 9, Buffer.from('{"s":"chat"}'), Buffer.alloc(0));
    await tick();
    assert.equal(seen.filter((f) => f.dir === "s>c").length, before, "nothing answered");
    assert.equal(handled.length, 1);
  });

  it("a refused open's end carries no header; a finished stream leaves no listener on the caller's signal", async () => {
    const none = pair({ handler: false });
    const n = none.client.open(1, H, new AbortController().signal);
    await within(n.finished, 2000, "the refusal");
    const end = none.seen.find((f) => f.dir === "s>c" && f.type === FrameType.StreamEnd)!;
    assert.equal(end.header, "");

    const { client, handled } = pair();
    const ac = new AbortController();
    const c = client.open(1, H, ac.signal);
    await until(() => handled.length === 1, "the stream");
    assert.equal(getEventListeners(ac.signal, "abort").length, 1);
    handled[0]!.closeSend();
    await within(c.finished, 2000, "the end");
    await tick();
    assert.equal(getEventListeners(ac.signal, "abort").length, 0, "the listener is removed at the end");
  });
});
