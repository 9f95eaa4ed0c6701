/**
 * Pinned behaviours of the server's stream dispatch (server/stream-server.ts) over scripted
 * inbound streams: registration and its endpoints, who is not served here (marked unknown, 404),
 * the codec, each stream kind (the request of a server stream, decoded messages, encoded
 * answers, the end), what fails and how (undecodable, unencodable, a throwing handler or
 * wrapper, the deadline), response metadata through the context (also one a wrapper derived),
 * and a unary endpoint called as a stream, whose signal aborts only when the stream fails.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CodecRegistry } from "../../src/codec/codec.js";
import { createJsonCodec } from "../../src/codec/json.js";
import { background, type Context, withMetadata } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";
import { type HandlerWrapper, Invoker } from "../../src/server/invoke.js";
import {
  isUnknownEndpoint,
  MOUNT,
  StreamServer,
  type StreamServerOptions,
  setResponseHeader,
  setResponseTrailer,
} from "../../src/server/stream-server.js";
import type { InboundRequest, InboundStream, RequestHeaders } from "../../src/transport/transport.js";
import { within } from "../helpers.js";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));

/** An inbound stream whose client messages the test gives up front; records what the server does. */
class Inbound implements InboundStream {
  readonly sent: unknown[] = [];
  readonly log: string[] = [];
  readonly headerSet: Record<string, string>[] = [];
  readonly trailerSet: Record<string, string>[] = [];
  header = {};
  trailer = {};
  aborted: MicroError | undefined;
  readonly peer = "127.0.0.1:9";
  readonly #controller = new AbortController();
  #finish!: (e: MicroError | undefined) => void;
  readonly finished = new Promise<MicroError | undefined>((r) => {
    this.#finish = r;
  });
  readonly #messages: Uint8Array[];
  constructor(
    readonly headers: RequestHeaders,
    messages: (unknown | Uint8Array)[] = [],
  ) {
    this.#messages = messages.map((m) => (m instanceof Uint8Array ? m : enc(m)));
  }
  get signal() {
    return this.#controller.signal;
  }
  async send(body: Uint8Array) {
    this.sent.push(dec(body));
  }
  closeSend() {
    this.log.push("closeSend");
    this.#finish(undefined);
  }
  abort(error: MicroError) {
    this.log.push(`abort:${error.code}`);
    this.aborted ??= error;
    this.#controller.abort(error);
    this.#finish(error);
  }
  setHeader(md: Record<string, string>) {
    this.headerSet.push(md);
  }
  setTrailer(md: Record<string, string>) {
    this.trailerSet.push(md);
  }
  async *[Symbol.asyncIterator]() {
    while (this.#messages.length > 0) yield this.#messages.shift()!;
  }
}

const h = (endpoint: string, o: Partial<RequestHeaders> = {}): RequestHeaders => ({
  service: "chat",
  endpoint,
  contentType: "application/json",
  ...o,
});

function server(o: Partial<StreamServerOptions> & { wrappers?: HandlerWrapper[] } = {}) {
  const unaryCalls: InboundRequest[] = [];
  const invoker = new Invoker({
    name: "chat",
    nodeId: "c1",
    wrappers: o.wrappers ?? [],
    bulkhead: undefined,
    inflight: undefined,
  });
  const s = new StreamServer({
    name: "chat",
    nodeId: "c1",
    codecs: new CodecRegistry([createJsonCodec()]),
    unary: (r) => unaryCalls.push(r),
    hasUnary: (e) => e === "Chat.ping",
    unaryNames: () => ["Chat.ping", "Debug.health"],
    invoker,
    ...o,
  });
  return { s, unaryCalls, invoker };
}

async function ended(s: Inbound, what: string) {
  return within(s.finished, 5000, what);
}

describe("stream server (pinned)", { timeout: 20_000 }, () => {
  it("registers each name once (unary names included), and lists its stream endpoints with their kind", () => {
    const { s } = server();
    s.add("Chat.talk", "bidi", async function* () {});
    s.add("Chat.feed", "server", async function* () {});
    assert.equal(s.has("Chat.talk"), true);
    assert.equal(s.has("Chat.nope"), false);
    assert.throws(
      () => s.add("Chat.talk", "client", async () => {}),
      /^TypeError: endpoint Chat\.talk is already registered$/,
    );
    assert.throws(
      () => s.add("Chat.ping", "client", async () => {}),
      /endpoint Chat\.ping is already registered/,
    );
    assert.deepEqual(s.endpoints(), [
      { name: "Chat.talk", metadata: { stream: "bidi" } },
      { name: "Chat.feed", metadata: { stream: "server" } },
    ]);
  });

  it("another service, an unknown endpoint or content type: refused, the first two marked unknown", async () => {
    const { s } = server();
    const other = new Inbound(h("Chat.talk", { service: "mail" }));
    s.dispatch(other);
    assert.equal(other.aborted?.code, 404);
    assert.equal(
      other.aborted.detail,
      'service "mail" is not served at this address (node c1 serves "chat")',
    );
    assert.equal(isUnknownEndpoint(other.aborted), true);

    const none = new Inbound(h("Chat.nope"));
    s.dispatch(none);
    assert.equal(none.aborted?.detail, 'endpoint "Chat.nope" not found on service "chat"; it has: Chat.ping');
    assert.equal(isUnknownEndpoint(none.aborted), true);
    s.add("Chat.talk", "bidi", async function* () {});
    const some = new Inbound(h("Chat.nope", { service: "" }));
    s.dispatch(some);
    assert.equal(
      some.aborted?.detail,
      'endpoint "Chat.nope" not found on service "chat"; it has: Chat.ping, Chat.talk',
    );

    const type = new Inbound(h("Chat.talk", { contentType: "text/csv" }));
    s.dispatch(type);
    assert.equal(type.aborted?.code, 415);
    assert.equal(isUnknownEndpoint(type.aborted), false);
    assert.equal(isUnknownEndpoint(new Error("x")), false);
    assert.equal(isUnknownEndpoint(null), false);
    assert.equal(isUnknownEndpoint(undefined), false);
    assert.equal(isUnknownEndpoint(404), false);
  });

  it("the marks are registered symbols, so two copies of tsmicro in one process agree", () => {
    // A gRPC package or a contract built against another copy sees the same keys.
    assert.equal(isUnknownEndpoint({ [Symbol.for("tsmicro.unknownEndpoint")]: true }), true);
    assert.equal(MOUNT, Symbol.for("tsmicro.mount"));
  });

  it("a service with no endpoints at all says so", () => {
    const { s } = server({ unaryNames: () => ["Debug.health"], hasUnary: () => false });
    const none = new Inbound(h("Chat.nope"));
    s.dispatch(none);
    assert.equal(none.aborted?.code, 404);
    assert.equal(
      none.aborted.detail,
      'endpoint "Chat.nope" not found on service "chat"; it has: no endpoints',
    );
  });

  it("server stream: the first message is the request; each answer encoded; the end closes the stream", async () => {
    const { s, invoker } = server();
    s.add("Chat.feed", "server", async function* (_ctx: Context, req: { n: number }) {
      for (let i = 0; i < req.n; i++) yield { i };
    });
    const st = new Inbound(h("Chat.feed"), [{ n: 3 }, { ignored: true }]);
    s.dispatch(st);
    assert.equal(invoker.active, 1);
    assert.equal(await ended(st, "the feed"), undefined);
    assert.deepEqual(st.sent, [{ i: 0 }, { i: 1 }, { i: 2 }]);
    assert.deepEqual(st.log, ["closeSend"]);
    await within(invoker.idle(), 2000, "the invocation to end with the stream");

    const empty = new Inbound(h("Chat.feed", { chain: ["web.A.b@w"] }));
    s.dispatch(empty);
    const e = await ended(empty, "the empty feed");
    assert.equal(e?.code, 400);
    assert.equal(e.detail, "chat.Chat.feed expects a request message, got none");
    assert.deepEqual([...e.chain], ["web.A.b@w", "chat.Chat.feed@c1"]);

    const garbled = new Inbound(h("Chat.feed"), [new TextEncoder().encode("{nope")]);
    s.dispatch(garbled);
    const g = await ended(garbled, "the undecodable request");
    assert.equal(g?.code, 400);
    assert.match(g.detail, /^cannot decode a message for chat\.Chat\.feed as application\/json: \S/);
    assert.deepEqual([...g.chain], ["chat.Chat.feed@c1"], "the chain added by the invocation");
  });

  it("client and bidi streams: messages decoded in, answers encoded out", async () => {
    const { s } = server();
    s.add("Chat.sum", "client", async (_ctx: Context, rs: AsyncIterable<{ n: number }>) => {
      let n = 0;
      for await (const r of rs) n += r.n;
      return { n };
    });
    s.add("Chat.echo", "bidi", async function* (_ctx: Context, rs: AsyncIterable<unknown>) {
      for await (const r of rs) yield { echo: r };
    });
    const sum = new Inbound(h("Chat.sum"), [{ n: 1 }, { n: 2 }]);
    s.dispatch(sum);
    await ended(sum, "the sum");
    assert.deepEqual(sum.sent, [{ n: 3 }]);
    const echo = new Inbound(h("Chat.echo"), ["a", "b"]);
    s.dispatch(echo);
    await ended(echo, "the echo");
    assert.deepEqual(echo.sent, [{ echo: "a" }, { echo: "b" }]);
  });

  it("an answer that cannot be encoded, or a handler that throws, ends the stream with a 500 carrying the chain", async () => {
    const { s } = server();
    s.add("Chat.big", "bidi", async function* () {
      yield { n: 1n };
    });
    s.add("Chat.boom", "client", async () => {
      throw new Error("db down");
    });
    const big = new Inbound(h("Chat.big"));
    s.dispatch(big);
    const e = await ended(big, "the unencodable answer");
    assert.equal(e?.code, 500);
    assert.match(e.detail, /^cannot encode a message of chat\.Chat\.big: \S/);
    assert.deepEqual([...e.chain], ["chat.Chat.big@c1"]);
    const boom = new Inbound(h("Chat.boom"));
    s.dispatch(boom);
    const b = await ended(boom, "the throwing handler");
    assert.equal(b?.code, 500);
    assert.equal(b.detail, "chat.Chat.boom failed: db down");
  });

  it("wrappers run once when the stream opens, seeing the server stream's request; one that throws ends it before the handler", async () => {
    const seen: unknown[] = [];
    const watch: HandlerWrapper = (next) => async (ctx, req) => {
      seen.push([req.endpoint, req.body]);
      if (req.endpoint === "Chat.guarded")
        throw new MicroError({ id: "auth", code: 401, detail: "who are you" });
      return next(ctx, req);
    };
    let ran = 0;
    const { s } = server({ wrappers: [watch] });
    s.add("Chat.feed", "server", async function* () {
      ran++;
      yield 1;
    });
    s.add("Chat.guarded", "bidi", async function* () {
      ran++;
      yield 1;
    });
    const feed = new Inbound(h("Chat.feed"), [{ q: 1 }]);
    s.dispatch(feed);
    await ended(feed, "the feed");
    const guarded = new Inbound(h("Chat.guarded"), ["x"]);
    s.dispatch(guarded);
    const e = await ended(guarded, "the guarded stream");
    assert.equal(e?.code, 401);
    assert.deepEqual(seen, [
      ["Chat.feed", { q: 1 }],
      ["Chat.guarded", undefined],
    ]);
    assert.equal(ran, 1, "the guarded handler never ran");
  });

  it("response metadata: set through the handler's context, also one a wrapper derived; a plain context has none", async () => {
    const derive: HandlerWrapper = (next) => (ctx, req) => next(withMetadata(ctx, { extra: "1" }), req);
    for (const wrappers of [[], [derive]]) {
      const { s } = server({ wrappers });
      s.add("Chat.md", "client", async (ctx: Context, rs: AsyncIterable<unknown>) => {
        for await (const _ of rs) {
          // drain
        }
        assert.equal(setResponseHeader(ctx, { h: "1" }), true);
        assert.equal(setResponseTrailer(ctx, { t: "2" }), true);
        return { md: { ...ctx.metadata } };
      });
      const st = new Inbound(h("Chat.md", { metadata: { tenant: "a" } }));
      s.dispatch(st);
      assert.equal(await ended(st, "the metadata stream"), undefined);
      assert.deepEqual(st.headerSet, [{ h: "1" }]);
      assert.deepEqual(st.trailerSet, [{ t: "2" }]);
      assert.deepEqual(st.sent, [
        { md: wrappers.length === 0 ? { tenant: "a" } : { tenant: "a", extra: "1" } },
      ]);
    }
    assert.equal(setResponseHeader(background(), { h: "1" }), false);
    assert.equal(setResponseTrailer(background(), { t: "1" }), false);
  });

  it("the deadline ends the stream even when the handler never looks", async () => {
    const { s } = server();
    s.add("Chat.stuck", "bidi", () => ({
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<unknown>>(() => {}) }),
    }));
    const st = new Inbound(h("Chat.stuck", { timeoutMs: 30 }));
    s.dispatch(st);
    const e = await ended(st, "the deadline");
    assert.equal(e?.code, 408);
  });

  it("a unary endpoint called as a stream: one message through the unary path, its answer then the end", async () => {
    const { s, unaryCalls } = server();
    const st = new Inbound(h("Chat.ping", { service: "", metadata: { tenant: "b" } }), [{ p: 1 }, { p: 2 }]);
    s.dispatch(st);
    await new Promise((r) => setTimeout(r, 10));
    const [call] = unaryCalls;
    assert.equal(call?.headers.service, "chat", "the service filled in");
    assert.deepEqual({ ...call.headers.metadata }, { tenant: "b" });
    assert.deepEqual(dec(call.body), { p: 1 });
    assert.equal(call.peer, "127.0.0.1:9");
    assert.equal(call.signal.aborted, false);
    call.signal.removeEventListener("abort", () => {}); // none added yet: nothing to do
    let aborted = 0;
    call.signal.addEventListener("abort", () => aborted++);
    call.respond({ contentType: "application/json", body: enc({ pong: true }) });
    await ended(st, "the unary answer");
    assert.deepEqual(st.sent, [{ pong: true }]);
    assert.deepEqual(st.log, ["closeSend"]);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(aborted, 0, "a stream that ended well aborts nothing");

    const failing = new Inbound(h("Chat.ping"), [{ p: 1 }]);
    s.dispatch(failing);
    await new Promise((r) => setTimeout(r, 10));
    const second = unaryCalls[1]!;
    let told = 0;
    const listener = () => told++;
    second.signal.addEventListener("abort", listener);
    second.signal.addEventListener("abort", () => told++);
    second.signal.removeEventListener("abort", listener); // the first one added
    second.signal.removeEventListener("abort", () => {}); // one never added removes nothing
    second.fail(new MicroError({ id: "chat", code: 409, detail: "busy" }));
    await ended(failing, "the unary failure");
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(failing.aborted?.code, 409);
    assert.equal(second.signal.aborted, true);
    assert.equal((second.signal.reason as MicroError).code, 409);
    assert.equal(told, 1, "the remaining listener, once");
    let late = 0;
    second.signal.addEventListener("abort", () => late++);
    assert.equal(late, 0, "no listener is kept once aborted");

    const empty = new Inbound(h("Chat.ping"));
    s.dispatch(empty);
    const e = await ended(empty, "the empty unary stream");
    assert.equal(e?.code, 400);
    assert.equal(e.detail, "chat.Chat.ping expects a request message, got none");
  });
});
