import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { newClient } from "../src/client/client.js";
import { background, type Context, withMetadata, withTimeout } from "../src/context.js";
import { bidiStream, clientStream, defineContract, serverStream, unary } from "../src/contract/contract.js";
import { implement } from "../src/contract/implement.js";
import { badRequest, MicroError, unauthorized } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import type { HandlerWrapper } from "../src/server/invoke.js";
import { setResponseHeader, setResponseTrailer } from "../src/server/stream-server.js";
import { newService } from "../src/service/service.js";
import { STREAM_WINDOW_BYTES } from "../src/transport/mux-stream.js";
import { createTcpTransport } from "../src/transport/tcp.js";

const Demo = defineContract("Demo", {
  echo: unary<{ text: string }, { text: string }>(),
  count: serverStream<{ n: number; size?: number }, { i: number; pad?: string }>(),
  sum: clientStream<{ x: number }, { total: number; count: number }>(),
  chat: bidiStream<{ text: string }, { text: string }>(),
  hang: serverStream<Record<string, never>, { i: number }>(),
  fail: serverStream<{ after: number }, { i: number }>(),
});

/** What the server saw, for assertions on its side. */
const seen = {
  produced: 0,
  hangAbort: undefined as Promise<unknown> | undefined,
};

function aborted(ctx: Context): Promise<unknown> {
  return new Promise((resolve) => {
    if (ctx.signal.aborted) resolve(ctx.signal.reason);
    ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason), { once: true });
  });
}

const registry = createMemoryRegistry();
const service = newService({ name: "streams", registry }).handle(
  implement(Demo, {
    echo: async (_ctx, req) => ({ text: req.text }),
    async *count(ctx, req) {
      setResponseHeader(ctx, { "x-kind": "count" });
      setResponseTrailer(ctx, { "x-total": String(req.n) });
      const pad = "x".repeat(req.size ?? 0);
      seen.produced = 0;
      for (let i = 0; i < req.n; i++) {
        seen.produced++;
        yield { i, pad };
      }
    },
    async sum(_ctx, reqs) {
      let total = 0;
      let count = 0;
      for await (const r of reqs) {
        total += r.x;
        count++;
      }
      return { total, count };
    },
    async *chat(_ctx, reqs) {
      for await (const r of reqs) yield { text: `re: ${r.text}` };
    },
    async *hang(ctx) {
      seen.hangAbort = aborted(ctx);
      yield { i: 0 };
      await seen.hangAbort;
    },
    async *fail(_ctx, req) {
      for (let i = 0; i < req.after; i++) yield { i };
      throw badRequest("streams", `failing after ${req.after} messages, as asked`);
    },
  }),
);
const client = newClient({ registry, poolSize: 1 });
const demo = client.service(Demo, "streams");
const ctx = background();

before(() => service.start());
after(async () => {
  await client.close();
  await service.stop();
});

/** Bounds a wait so a hang fails with a message naming it. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("streams over TCP", { timeout: 60_000 }, () => {
  test("server-streaming delivers every message in order, with header and trailer metadata", async () => {
    const responseMetadata = { header: {}, trailer: {} };
    const got = await within(
      5000,
      "100 messages",
      collect(demo.count(ctx, { n: 100 }, { responseMetadata })),
    );
    assert.deepEqual(
      got.map((m) => m.i),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.deepEqual(responseMetadata, { header: { "x-kind": "count" }, trailer: { "x-total": "100" } });
  });

  test("client-streaming sums what was sent", async () => {
    const xs = Array.from({ length: 1000 }, (_, i) => ({ x: i + 1 }));
    const r = await within(5000, "the sum", demo.sum(ctx, xs));
    assert.deepEqual(r, { total: 500500, count: 1000 });
  });

  test("bidi: ping-pong one at a time, then closeSend ends the responses", async () => {
    const s = await demo.chat(ctx);
    for (let i = 0; i < 10; i++) {
      await s.send({ text: `m${i}` });
      assert.deepEqual(await within(2000, `reply ${i}`, s.recv()), { text: `re: m${i}` });
    }
    s.closeSend();
    assert.equal(await within(2000, "the end of the stream", s.recv()), undefined);
    assert.equal(await s.finished, undefined);
  });

  test("client.stream with a request body sends it as the first message", async () => {
    const s = await client.stream(ctx, { service: "streams", endpoint: "Demo.count", body: { n: 3 } });
    s.closeSend();
    assert.deepEqual(
      (await within(2000, "3 messages", collect(s))).map((m: { i: number }) => m.i),
      [0, 1, 2],
    );
  });

  test("a unary endpoint called as a stream answers with one message", async () => {
    const responseMetadata = { header: {}, trailer: {} };
    assert.deepEqual(await demo.echo(ctx, { text: "hi" }, { responseMetadata }), { text: "hi" });
  });

  test("cancel from the client ends the handler with 499 and the client's iteration with 499", async () => {
    const s = await client.stream(ctx, { service: "streams", endpoint: "Demo.hang", body: {} });
    assert.deepEqual(await within(2000, "the first message", s.recv()), { i: 0 });
    s.close("bored");
    const reason = await within(2000, "the handler's signal", seen.hangAbort!);
    assert.ok(reason instanceof MicroError);
    assert.equal(reason.code, 499);
    assert.match(reason.detail, /bored/);
    await assert.rejects(s.recv(), (e: MicroError) => e.code === 499);
    assert.equal((await s.finished)?.code, 499);
  });

  test("breaking out of a for-await cancels the server's handler", async () => {
    for await (const m of demo.hang(ctx, {})) {
      assert.equal(m.i, 0);
      break;
    }
    const reason = (await within(2000, "the handler's signal", seen.hangAbort!)) as MicroError;
    assert.equal(reason.code, 499);
  });

  test("an error thrown by the handler ends the client's stream with its code and detail", async () => {
    const got: number[] = [];
    await assert.rejects(
      within(
        2000,
        "the failing stream",
        (async () => {
          for await (const m of demo.fail(ctx, { after: 3 })) got.push(m.i);
        })(),
      ),
      (e: MicroError) => e.code === 400 && /after 3 messages/.test(e.detail),
    );
    assert.deepEqual(got, [0, 1, 2]);
  });

  test("the caller's deadline ends the stream on both sides with 408", async () => {
    const t = withTimeout(ctx, 200);
    const started = Date.now();
    await assert.rejects(
      within(3000, "the deadline", collect(demo.hang(t, {}))),
      (e: MicroError) => e.code === 408,
    );
    assert.ok(Date.now() - started < 2000);
    const reason = (await within(2000, "the handler's signal", seen.hangAbort!)) as MicroError;
    assert.equal(reason.code, 408);
  });

  test("an unknown stream endpoint is a 404 naming what the service has", async () => {
    await assert.rejects(
      within(
        2000,
        "the 404",
        collect(await client.stream(ctx, { service: "streams", endpoint: "Demo.nope", body: {} })),
      ),
      (e: MicroError) => e.code === 404 && /Demo\.count/.test(e.detail) && /Demo\.echo/.test(e.detail),
    );
  });

  test("flow control: a reader that stops stops the writer within one window", async () => {
    const size = 16 * 1024;
    const it = demo.count(ctx, { n: 2000, size })[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) await within(2000, `message ${i}`, it.next());
    await sleep(300); // the server would produce all 2000 (32 MiB) in this time without flow control
    const windowMessages = Math.ceil(STREAM_WINDOW_BYTES / (size + 16)) + 2;
    assert.ok(
      seen.produced <= 10 + windowMessages,
      `server produced ${seen.produced} messages while the client read 10; window allows ${windowMessages}`,
    );
    assert.ok(seen.produced >= windowMessages / 2, `server produced only ${seen.produced}: flow is stuck`);
    let n = 10;
    for (;;) {
      const r = await within(5000, `message ${n}`, it.next());
      if (r.done) break;
      n++;
    }
    assert.equal(n, 2000);
  });
});

describe("handler wrappers run for streams", { timeout: 20_000 }, () => {
  test("a wrapper sees the stream open (with the server-streaming request), can refuse it, and passes its context on", async () => {
    const seenByWrapper: unknown[] = [];
    let handlerRan = 0;
    const guard: HandlerWrapper = (next) => async (ctx, req) => {
      seenByWrapper.push([req.endpoint, req.body]);
      if (req.metadata["x-token"] !== "ok") throw unauthorized("guarded", `${req.endpoint}: no token`);
      return next({ ...ctx, metadata: { ...ctx.metadata, "x-account": "ada" } }, req);
    };
    const Guarded = defineContract("Guarded", {
      feed: serverStream<{ topic: string }, { account: string }>(),
      chat: bidiStream<{ text: string }, { text: string }>(),
    });
    const reg = createMemoryRegistry();
    const svc = newService({ name: "guarded", registry: reg, wrappers: [guard] }).handle(
      implement(Guarded, {
        async *feed(ctx) {
          handlerRan++;
          yield { account: ctx.metadata["x-account"] ?? "none" };
        },
        async *chat(ctx, reqs) {
          handlerRan++;
          for await (const r of reqs) yield { text: `${ctx.metadata["x-account"]}: ${r.text}` };
        },
      }),
    );
    await svc.start();
    const c = newClient({ registry: reg });
    const guarded = c.service(Guarded, "guarded");
    try {
      await assert.rejects(
        within(2000, "the refusal", collect(guarded.feed(ctx, { topic: "t" }))),
        (e: MicroError) => e.code === 401 && /no token/.test(e.detail),
      );
      await assert.rejects(
        within(2000, "the refusal", (async () => (await guarded.chat(ctx)).recv())()),
        (e: MicroError) => e.code === 401,
      );
      assert.equal(handlerRan, 0, "a refused stream never reached its handler");

      const authed = withMetadata(ctx, { "x-token": "ok" });
      assert.deepEqual(await within(2000, "the feed", collect(guarded.feed(authed, { topic: "t" }))), [
        { account: "ada" },
      ]);
      const chat = await guarded.chat(authed);
      await chat.send({ text: "hi" });
      assert.deepEqual(await within(2000, "the reply", chat.recv()), { text: "ada: hi" });
      chat.closeSend();
      assert.deepEqual(seenByWrapper.slice(-2), [
        ["Guarded.feed", { topic: "t" }],
        ["Guarded.chat", undefined],
      ]);
    } finally {
      await c.close();
      await svc.stop();
    }
  });
});

describe("streams and unary calls share one connection", () => {
  test("a unary request completes while a stream is open on the same connection", async () => {
    const transport = createTcpTransport();
    const listener = await transport.listen(
      "127.0.0.1:0",
      (req) => req.respond({ contentType: "application/json", body: req.body }),
      (s) => {
        void (async () => {
          for await (const m of s) await s.send(m);
          s.closeSend();
        })();
      },
    );
    const conn = await transport.dial(listener.address, { timeoutMs: 2000 });
    try {
      const headers = { service: "x", endpoint: "X.y", contentType: "application/json" };
      const s = conn.stream!(headers, new AbortController().signal);
      await s.send(Buffer.from("one"));
      const it = s[Symbol.asyncIterator]();
      assert.equal(Buffer.from((await within(2000, "echo one", it.next())).value).toString(), "one");
      assert.equal(conn.inflight, 1, "the open stream counts as in flight");
      const res = await within(
        2000,
        "the unary answer",
        conn.request({ headers, body: Buffer.from("unary") }, new AbortController().signal),
      );
      assert.equal(Buffer.from(res.body).toString(), "unary");
      await s.send(Buffer.from("two"));
      assert.equal(Buffer.from((await within(2000, "echo two", it.next())).value).toString(), "two");
      s.closeSend();
      assert.equal((await within(2000, "the end", it.next())).done, true);
      assert.equal(listener.connections, 1);
      assert.equal(conn.inflight, 0);
    } finally {
      conn.close();
      await listener.close();
    }
  });

  test("a server without a stream handler refuses streams with 501", async () => {
    const transport = createTcpTransport();
    const listener = await transport.listen("127.0.0.1:0", (req) =>
      req.respond({ contentType: "application/json", body: req.body }),
    );
    const conn = await transport.dial(listener.address, { timeoutMs: 2000 });
    try {
      const s = conn.stream!(
        { service: "x", endpoint: "X.y", contentType: "application/json" },
        new AbortController().signal,
      );
      await assert.rejects(
        within(2000, "the refusal", s[Symbol.asyncIterator]().next()),
        (e: MicroError) => e.code === 501,
      );
    } finally {
      conn.close();
      await listener.close();
    }
  });
});
