/**
 * Pinned behaviours of opening a client stream (client/client-stream.ts) over a transport whose
 * streams the test scripts: the headers sent (content type, time left, merged metadata, chain),
 * the first message, a transport without streams (501), messages that cannot be encoded (400) or
 * decoded (502, the stream ended), close with its reason, the stream's deadline, the caller's
 * signal (its own reason or a 499), reaching a node retried only while nothing was opened, the
 * depth limit, and the in-flight record for as long as the stream lives.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { after, describe, it } from "node:test";
import { createMemoryBroker } from "../../src/broker/memory.js";
import { type Client, newClient } from "../../src/client/client.js";
import type { ClientOptions } from "../../src/client/options.js";
import { newRequest } from "../../src/client/request.js";
import { background, createContext, withMetadata } from "../../src/context.js";
import { MicroError, serviceUnavailable } from "../../src/errors.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import { markTransportFailure } from "../../src/transport/failure.js";
import type {
  Connection,
  RequestHeaders,
  Transport,
  TransportStream,
} from "../../src/transport/transport.js";
import { microError, until, within } from "../helpers.js";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** A transport stream the test drives: `push` a message from the server, `end` it. */
class ScriptedStream implements TransportStream {
  sent: string[] = [];
  closedSend = false;
  aborted: MicroError | undefined;
  header = { h: "1" };
  trailer = {};
  readonly #queue: Uint8Array[] = [];
  #wake: (() => void) | undefined;
  readonly #controller = new AbortController();
  #finish!: (e: MicroError | undefined) => void;
  readonly finished = new Promise<MicroError | undefined>((r) => {
    this.#finish = r;
  });
  constructor(
    readonly headers: RequestHeaders,
    readonly callSignal: AbortSignal,
  ) {
    callSignal.addEventListener("abort", () => this.abort(callSignal.reason as MicroError), { once: true });
  }
  get signal() {
    return this.#controller.signal;
  }
  push(m: unknown) {
    this.#queue.push(typeof m === "string" ? new TextEncoder().encode(m) : enc(m));
    this.#wake?.();
  }
  #ended = false;
  end(error?: MicroError) {
    this.#ended = true;
    this.#finish(error);
    this.#wake?.();
  }
  async send(body: Uint8Array) {
    this.sent.push(new TextDecoder().decode(body));
  }
  closeSend() {
    this.closedSend = true;
  }
  abort(error: MicroError) {
    this.aborted ??= error;
    this.#controller.abort(error);
    this.end(error);
  }
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: async () => {
        while (this.#queue.length === 0 && !this.#ended) await new Promise<void>((r) => (this.#wake = r));
        const m = this.#queue.shift();
        return m === undefined ? { done: true, value: undefined } : { done: false, value: m };
      },
    };
  }
}

/** A transport whose dials fail as told, then open connections that make ScriptedStreams (or none). */
function streamTransport(o: { streams?: boolean; failDials?: MicroError[] } = {}) {
  const opened: ScriptedStream[] = [];
  let dials = 0;
  const transport: Transport = {
    name: "scripted",
    dial: async (address) => {
      dials++;
      const fail = o.failDials?.shift();
      if (fail !== undefined) throw fail;
      let closed = () => {};
      const conn: Connection = {
        address,
        inflight: 0,
        usable: true,
        createdAt: Date.now(),
        closed: new Promise<void>((r) => {
          closed = r;
        }),
        close: () => closed(),
        request: () => Promise.reject(new Error("unary not used")),
      };
      if (o.streams !== false) {
        conn.stream = (headers, signal) => {
          const s = new ScriptedStream(headers, signal);
          opened.push(s);
          return s;
        };
      }
      return conn;
    },
    listen: () => Promise.reject(new Error("not used")),
  };
  return { transport, opened, dials: () => dials };
}

const unreachable = () =>
  markTransportFailure(serviceUnavailable("svc", "dial tcp svc:1: connect ECONNREFUSED", { refused: true }));

describe("client streams (pinned)", { timeout: 20_000 }, () => {
  const clients: Client[] = [];
  after(async () => {
    for (const c of clients) await c.close();
  });
  const client = (transport: Transport, o: Partial<ClientOptions> = {}) => {
    const c = newClient({
      transport,
      registry: createMemoryRegistry(),
      broker: createMemoryBroker(),
      backoff: () => 1,
      ...o,
    });
    clients.push(c);
    return c;
  };
  const opts = { address: "svc:1" };

  it("sends the headers (content type, time left, merged metadata, chain) and the first message; answers are decoded", async () => {
    const t = streamTransport();
    const c = client(t.transport);
    const ctx = withMetadata(
      createContext({
        signal: new AbortController().signal,
        deadline: Date.now() + 4000,
        metadata: {},
        chain: ["web.Home.index@w1"],
      }),
      { tenant: "a", trace: "1" },
    );
    const s = await c.stream(ctx, newRequest("svc", "Chat.talk", { hello: 1 }), {
      ...opts,
      metadata: { trace: "2" },
    });
    const [ts] = t.opened;
    assert.equal(ts!.headers.service, "svc");
    assert.equal(ts!.headers.endpoint, "Chat.talk");
    assert.equal(ts!.headers.contentType, "application/json");
    assert.ok(ts!.headers.timeoutMs! > 3000 && ts!.headers.timeoutMs! <= 4000, String(ts!.headers.timeoutMs));
    assert.deepEqual(ts!.headers.metadata, { tenant: "a", trace: "2" });
    assert.deepEqual([...ts!.headers.chain!], ["web.Home.index@w1"]);
    assert.deepEqual(ts!.sent, ['{"hello":1}']);
    assert.deepEqual(s.header, { h: "1" });
    ts!.push({ n: 1 });
    assert.deepEqual(await s.recv(), { n: 1 });
    ts!.push({ n: 2 });
    ts!.end();
    const rest: unknown[] = [];
    for await (const m of s) rest.push(m);
    assert.deepEqual(rest, [{ n: 2 }]);
    assert.equal(await s.recv(), undefined);
    assert.equal(await within(s.finished, 5000, "the stream to finish"), undefined);

    const none = await c.stream(background(), newRequest("svc", "Chat.quiet", undefined), opts);
    assert.deepEqual(t.opened[1]!.sent, [], "no body: no first message");
    none.closeSend();
    assert.equal(t.opened[1]!.closedSend, true);
    t.opened[1]!.end();
  });

  it("a transport without streams is a 501 naming it", async () => {
    const c = client(streamTransport({ streams: false }).transport);
    const e = await microError(
      c.stream(background(), newRequest("svc", "Chat.talk", undefined), opts),
      "the open",
    );
    assert.equal(e.code, 501);
    assert.equal(e.retryable, false);
    assert.equal(e.detail, "stream to svc.Chat.talk: the scripted transport does not support streams");
  });

  it("a message that cannot be encoded is a 400; one that cannot be decoded a 502 that ends the stream", async () => {
    const t = streamTransport();
    const c = client(t.transport);
    const s = await c.stream(background(), newRequest("svc", "Chat.talk", undefined), opts);
    const bad = await microError(s.send({ n: 1n } as never), "the encode failure");
    assert.equal(bad.code, 400);
    assert.equal(bad.retryable, false);
    assert.match(bad.detail, /^cannot encode a message for svc\.Chat\.talk as application\/json: \S/);
    t.opened[0]!.push("{not json");
    const garbled = await microError(s.recv(), "the decode failure");
    assert.equal(garbled.code, 502);
    assert.equal(garbled.retryable, false);
    assert.match(garbled.detail, /^cannot decode a message of svc\.Chat\.talk as application\/json: \S/);
    assert.equal(t.opened[0]!.aborted, garbled, "the stream was ended with it");
  });

  it("close() ends the stream both ways as a 499 with its reason", async () => {
    const t = streamTransport();
    const c = client(t.transport);
    const s = await c.stream(background(), newRequest("svc", "Chat.talk", undefined), opts);
    s.close();
    assert.equal(t.opened[0]!.aborted?.code, 499);
    assert.equal(t.opened[0]!.aborted?.detail, "svc.Chat.talk: the client closed the stream");
    const s2 = await c.stream(background(), newRequest("svc", "Chat.talk", undefined), opts);
    s2.close("bored");
    assert.equal(t.opened[1]!.aborted?.detail, "svc.Chat.talk: bored");
  });

  it("the stream's deadline ends it with a 408 carrying the chain", async () => {
    const t = streamTransport();
    const c = client(t.transport);
    const s = await c.stream(background(), newRequest("svc", "Chat.talk", undefined), {
      ...opts,
      requestTimeoutMs: 40,
    });
    const e = await within(s.finished, 5000, "the stream's deadline");
    assert.ok(e instanceof MicroError);
    assert.equal(e.code, 408);
    assert.match(e.detail, /^stream to svc\.Chat\.talk passed its deadline after \d+ ms$/);
    const ms = Number(/after (\d+) ms/.exec(e.detail)?.[1]);
    assert.ok(ms >= 30 && ms < 5000, `the time it took: ${ms} ms`);
    assert.deepEqual([...e.chain], ["svc.Chat.talk"]);
  });

  it("the caller's signal: a MicroError reason as is, any other a 499 saying why; an aborted one never opens", async () => {
    const t = streamTransport();
    const c = client(t.transport);
    const ac = new AbortController();
    const s = await c.stream(background(), newRequest("svc", "Chat.talk", undefined), {
      ...opts,
      signal: ac.signal,
    });
    ac.abort(new Error("tab closed"));
    const e = await within(s.finished, 5000, "the cancelled stream");
    assert.equal(e?.code, 499);
    assert.equal(e?.detail, "svc.Chat.talk: the caller cancelled (tab closed)");

    const quiet = new AbortController();
    const s3 = await c.stream(background(), newRequest("svc", "Chat.talk", undefined), {
      ...opts,
      signal: quiet.signal,
    });
    assert.equal(getEventListeners(quiet.signal, "abort").length, 1);
    t.opened.at(-1)!.end();
    await within(s3.finished, 5000, "the quiet stream to finish");
    await until(
      () => getEventListeners(quiet.signal, "abort").length === 0,
      "the stream's end to unlink the caller's signal",
    );
    assert.equal(getEventListeners(ac.signal, "abort").length, 0, "an abort leaves no listener either");

    const own = new AbortController();
    const s2 = await c.stream(background(), newRequest("svc", "Chat.talk", undefined), {
      ...opts,
      signal: own.signal,
    });
    const mine = new MicroError({ id: "web", code: 410, detail: "gone" });
    own.abort(mine);
    assert.equal(await within(s2.finished, 5000, "the stream ended with my reason"), mine);

    const before = new AbortController();
    before.abort("never mind");
    const pre = await microError(
      c.stream(background(), newRequest("svc", "Chat.talk", undefined), { ...opts, signal: before.signal }),
      "a pre-aborted open",
    );
    assert.equal(pre.detail, "svc.Chat.talk: the caller cancelled (never mind)");
    assert.equal(t.opened.length, 3, "nothing opened for it");
    const gone = new AbortController();
    gone.abort(new Error("request ended"));
    const ctx = createContext({ signal: gone.signal, deadline: undefined, metadata: {}, chain: [] });
    const dials = t.dials();
    const e2 = await microError(
      c.stream(ctx, newRequest("svc", "Chat.talk", undefined), opts),
      "an open on a cancelled context",
    );
    assert.equal(e2.code, 499);
    assert.equal(t.dials(), dials, "nothing dialled for it");
  });

  it("reaching a node is retried on a retryable failure, within `retries`; a refusal that is not retryable is not", async () => {
    const retried = streamTransport({ failDials: [unreachable()] });
    const c = client(retried.transport, { retries: 1 });
    await c.stream(background(), newRequest("svc", "Chat.talk", undefined), opts);
    assert.equal(retried.dials(), 2);

    const spent = streamTransport({ failDials: [unreachable(), unreachable()] });
    const c2 = client(spent.transport, { retries: 1 });
    const e = await microError(
      c2.stream(background(), newRequest("svc", "Chat.talk", undefined), opts),
      "retries spent",
    );
    assert.equal(e.code, 503);
    assert.equal(spent.dials(), 2);

    const final = new MicroError({ id: "svc", code: 403, detail: "forbidden", retryable: false });
    const refused = streamTransport({ failDials: [final] });
    const c3 = client(refused.transport, { retries: 3 });
    const e3 = await microError(
      c3.stream(background(), newRequest("svc", "Chat.talk", undefined), opts),
      "a final refusal",
    );
    assert.equal(e3.code, 403);
    assert.equal(refused.dials(), 1);
  });

  it("a chain as deep as maxCallDepth is refused (508) before anything is opened", async () => {
    const t = streamTransport();
    const c = client(t.transport, { maxCallDepth: 2 });
    const deep = createContext({
      signal: new AbortController().signal,
      deadline: undefined,
      metadata: {},
      chain: ["a.A.a@1", "b.B.b@2"],
    });
    const e = await microError(
      c.stream(deep, newRequest("svc", "Chat.talk", undefined), opts),
      "the depth refusal",
    );
    assert.equal(e.code, 508);
    assert.match(e.detail, /^stream to svc\.Chat\.talk refused: chain depth 2 reached maxCallDepth 2/);
    assert.equal(t.dials(), 0);
  });

  it("how a stream ends counts for its node's breaker: only a transport failure against it, not the handler's status (docs/resilience.md)", async () => {
    const t = streamTransport();
    const registry = createMemoryRegistry();
    await registry.register(
      {
        name: "svc",
        version: "1",
        metadata: {},
        endpoints: [],
        nodes: [{ id: "n1", address: "svc:1", metadata: {} }],
      },
      { ttlMs: 60_000 },
    );
    const c = client(t.transport, { registry, breaker: { minRequests: 100 } });
    const open = async (o = {}) => c.stream(background(), newRequest("svc", "Chat.talk", undefined), o);
    const counts = () => c.breakers().map((b) => [b.node, b.requests, b.failures]);
    await open();
    t.opened[0]!.end();
    await open();
    t.opened[1]!.end(new MicroError({ id: "svc", code: 409, detail: "conflict" }));
    await open();
    t.opened[2]!.end(new MicroError({ id: "svc", code: 500, detail: "handler crashed" }));
    await until(() => c.inflight().length === 0, "three streams to end");
    assert.deepEqual(counts(), [["n1", 3, 0]], "a clean end, a 409 and a 500: no failure");
    await open();
    t.opened[3]!.end(unreachable());
    await until(() => c.inflight().length === 0, "the stream to end");
    assert.deepEqual(counts(), [["n1", 4, 1]], "a lost connection: a failure");
  });

  it("the in-flight record lives as long as the stream, in phase streaming", async () => {
    const t = streamTransport();
    const c = client(t.transport);
    await c.stream(background(), newRequest("svc", "Chat.talk", undefined), opts);
    const [row] = c.inflight();
    assert.equal(row?.endpoint, "Chat.talk");
    assert.equal(row.phase, "streaming");
    t.opened[0]!.end();
    await until(() => c.inflight().length === 0, "the record to go with the stream");
  });
});
