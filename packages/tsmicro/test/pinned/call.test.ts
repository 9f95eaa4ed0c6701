/**
 * Client call-path behaviours that surviving mutants showed untested (issue 20): an undecodable
 * response is a 502 naming the hop and the content type (never `undefined`), and retries back off
 * for a real interval between attempts (never 0 ms).
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { defaultBackoff } from "../../src/client/options.js";
import {
  background,
  type Context,
  createMemoryRegistry,
  MicroError,
  newClient,
  newRequest,
  newService,
  withTimeout,
} from "../../src/index.js";
import { encodeFrame, FrameDecoder, FrameType, PREFACE } from "../../src/transport/frame.js";

/** `p`, or a failure after `ms` naming what was awaited. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** A server that speaks the frame protocol and answers every request with `body` as JSON. */
async function fakeServer(body: Buffer): Promise<{ address: string; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let preface = true;
    const decoder = new FrameDecoder(1 << 20, {
      frame: (f) => {
        if (f.type === FrameType.Request) socket.write(encodeFrame(FrameType.Response, f.id, "", body));
      },
      oversized: () => {},
    });
    socket.on("data", (chunk: Buffer) => {
      if (preface) {
        preface = false;
        chunk = chunk.subarray(PREFACE.length);
      }
      decoder.push(chunk);
    });
  });
  server.on("close", () => {
    for (const s of sockets) s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const a = server.address();
  if (a === null || typeof a === "string") throw new Error("no address");
  return { address: `127.0.0.1:${a.port}`, server };
}

describe("client call path (pinned)", () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    // A service's stop drains for up to 10 s (its default); longer is a hang, named here.
    for (const close of closers.reverse())
      await within(close(), 15_000, "a service, server or client to close");
  });

  it("a response body that cannot be decoded is a 502 naming the endpoint and content type", async () => {
    const { address, server } = await fakeServer(Buffer.from("{not json"));
    closers.push(() => new Promise((r) => server.close(r)));
    const client = newClient({ registry: createMemoryRegistry(), retries: 0 });
    closers.push(() => client.close());
    const err = await within(
      client.call(background(), newRequest("fake", "Fake.Echo", {}), { address }).then(
        (v) => assert.fail(`expected a 502, got ${JSON.stringify(v)}`),
        (e: unknown) => e,
      ),
      // The answer is local and immediate; a broken decode path loops instead of failing, and
      // this bound must end it well before the mutation run's own 5 s timeout.
      2000,
      "the call with an undecodable response to fail",
    );
    assert.ok(err instanceof MicroError, `expected a MicroError, got ${String(err)}`);
    assert.equal(err.code, 502);
    assert.match(err.detail, /cannot decode/);
    assert.match(err.detail, /Fake\.Echo/);
    assert.match(err.detail, /application\/json/);
    assert.equal(err.retryable, false, "the node would answer the same bytes again");
  });

  it("retries wait a real back-off between attempts", async () => {
    const seen: number[] = [];
    class Busy {
      async Try(_ctx: Context, _req: unknown) {
        seen.push(performance.now());
        throw new MicroError({ id: "busy", code: 503, detail: "try again" });
      }
    }
    const registry = createMemoryRegistry();
    const service = newService({
      name: "busy",
      registry,
      address: "127.0.0.1:0",
    });
    service.handle(new Busy());
    await service.start();
    closers.push(() => service.stop());
    const client = newClient({
      registry,
      retries: 3,
      requestTimeoutMs: 10_000,
    });
    closers.push(() => client.close());
    const err = await within(
      // Idempotent: a 503 from a handler that ran is retried only then (docs/retries.md).
      client
        .call(background(), newRequest("busy", "Busy.Try", {}), {
          idempotent: true,
        })
        .then(
          () => assert.fail("expected the 503 to come back after the retries"),
          (e: unknown) => e,
        ),
      10_000,
      "the retried call to give up",
    );
    assert.equal((err as MicroError).code, 503);
    assert.equal(
      (err as MicroError).detail,
      "try again",
      "retries ran out: the handler's own words, nothing added",
    );
    assert.equal(seen.length, 4, "one attempt and three retries");
    for (let i = 1; i < seen.length; i++) {
      // defaultBackoff(n) lies in [base/2, base] with base = 10 ms × 2^(n-1): never less than 5 ms.
      assert.ok(
        seen[i]! - seen[i - 1]! >= 4,
        `attempt ${i + 1} came ${seen[i]! - seen[i - 1]!} ms after the one before`,
      );
    }
  });

  /** A service whose `Slow.Hang` answers only when its context ends; and a client for it. */
  async function slowService() {
    class Slow {
      async Hang(ctx: Context) {
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
      }
    }
    const registry = createMemoryRegistry();
    const service = newService({
      name: "slow",
      registry,
      address: "127.0.0.1:0",
    });
    service.handle(new Slow());
    await service.start();
    closers.push(() => service.stop());
    const client = newClient({ registry, retries: 0, maxCallDepth: 3 });
    closers.push(() => client.close());
    return client;
  }
  const failure = (p: Promise<unknown>, what: string) =>
    within(
      p.then(
        (v) => assert.fail(`expected ${what} to fail, got ${JSON.stringify(v)}`),
        (e: unknown) => e as MicroError,
      ),
      5000,
      what,
    );

  it("a call whose own timeout comes before the caller's deadline reports its own timeout", async () => {
    const client = await slowService();
    const ctx = withTimeout(background(), 30_000);
    const err = await failure(
      client.call(ctx, newRequest("slow", "Slow.Hang", {}), {
        requestTimeoutMs: 150,
      }),
      "the call to time out",
    );
    assert.equal(err.code, 408);
    assert.match(err.detail, /\(its timeout of 150 ms\) while waiting for the response/);
  });

  it("the caller's context ending at the call's deadline reports the call's timeout, not the context's reason", async () => {
    const client = await slowService();
    const ac = new AbortController();
    const deadline = Date.now() + 150;
    const ctx: Context = { ...background(), signal: ac.signal, deadline };
    const p = failure(
      client.call(ctx, newRequest("slow", "Slow.Hang", {})),
      "the call to end with its context",
    );
    // The context ends 1 ms before the deadline, as a context timer can, and before the call's
    // own timer: the event loop is held until then, so no timer runs first.
    while (Date.now() < deadline - 1);
    ac.abort(
      new MicroError({
        id: "ctx",
        code: 499,
        detail: "the context's own reason",
      }),
    );
    const err = await p;
    assert.equal(err.code, 408, err.detail);
    assert.match(err.detail, /^call to slow\.Slow\.Hang timed out after \d+ ms \(the caller's deadline\)/);
  });

  it("a call refused for chain depth says which call", async () => {
    const client = await slowService();
    const ctx: Context = {
      ...background(),
      chain: ["a.A.a@1", "b.B.b@2", "c.C.c@3"],
    };
    const err = await failure(
      client.call(ctx, newRequest("slow", "Slow.Hang", {})),
      "the call to be refused",
    );
    assert.equal(err.code, 508);
    assert.match(
      err.detail,
      /^call to slow\.Slow\.Hang refused: chain depth 3 reached maxCallDepth 3: a\.A\.a@1 -> /,
    );
  });

  it("the default back-off grows, stays within [base/2, base] and is never 0", () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const base = Math.min(1000, 10 * 2 ** (attempt - 1));
      for (let i = 0; i < 50; i++) {
        const d = defaultBackoff(attempt);
        assert.ok(
          d >= base / 2 && d <= base,
          `defaultBackoff(${attempt}) = ${d}, outside [${base / 2}, ${base}]`,
        );
      }
    }
  });
});
