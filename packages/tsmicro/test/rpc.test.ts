import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { CallWrapper } from "../src/client/options.js";
import { newRequest } from "../src/client/request.js";
import { background, type Context, withMetadata, withTimeout } from "../src/context.js";
import { conflict, MicroError } from "../src/errors.js";
import type { HandlerWrapper } from "../src/server/invoke.js";
import { delay, fixture, rejection, within } from "./helpers.js";

class Greeter {
  async Hello(ctx: Context, req: { name: string }) {
    return { msg: `hello ${req.name}`, metadata: ctx.metadata, chain: ctx.chain };
  }
  async Fail(_ctx: Context, req: { how: string }) {
    if (req.how === "micro") throw conflict("greeter", "name already taken");
    if (req.how === "string") throw "a plain string";
    throw new RangeError("index out of range");
  }
  async Slow(ctx: Context, req: { ms: number }) {
    await delay(req.ms);
    return { deadline: ctx.deadline };
  }
}

let flaky = 0;
class Flaky {
  async Once() {
    if (flaky++ === 0) throw new MicroError({ id: "flaky", code: 503, detail: "try again" });
    return { attempts: flaky };
  }
  async Never() {
    flaky++;
    throw new MicroError({ id: "flaky", code: 400, detail: "bad" });
  }
}

describe("rpc end to end", () => {
  const f = fixture();
  after(() => f.close());

  it("calls an endpoint through the registry and returns the decoded response", async () => {
    await f.start("greeter", [new Greeter()]);
    const c = f.client();
    const r = await c.call(background(), newRequest("greeter", "Greeter.Hello", { name: "ada" }));
    assert.equal(r.msg, "hello ada");
    assert.equal(r.chain.length, 1);
    assert.match(r.chain[0], /^greeter\.Greeter\.Hello@greeter-/);
  });

  it("carries context and call metadata to the handler", async () => {
    const c = f.client();
    const ctx = withMetadata(background(), { "X-User": "ada" });
    const r = await c.call(ctx, newRequest("greeter", "Greeter.Hello", { name: "x" }), {
      metadata: { trace: "t1" },
    });
    assert.deepEqual(r.metadata, { "x-user": "ada", trace: "t1" });
  });

  it("speaks MessagePack when asked", async () => {
    const c = f.client({ contentType: "application/msgpack" });
    const r = await c.call(background(), newRequest("greeter", "Greeter.Hello", { name: "mp" }));
    assert.equal(r.msg, "hello mp");
  });

  it("passes a thrown MicroError through with id, code, detail and status", async () => {
    const e = await rejection(
      f.client().call(background(), newRequest("greeter", "Greeter.Fail", { how: "micro" })),
    );
    assert.ok(e instanceof MicroError);
    assert.equal(e.id, "greeter");
    assert.equal(e.code, 409);
    assert.equal(e.status, "Conflict");
    assert.equal(e.detail, "name already taken");
    assert.match(e.chain[0], /greeter\.Greeter\.Fail@/);
  });

  it("turns any other throw into a 500 naming the endpoint", async () => {
    for (const how of ["error", "string"]) {
      const e = await rejection(
        f.client().call(background(), newRequest("greeter", "Greeter.Fail", { how })),
      );
      assert.equal(e.code, 500);
      assert.match(e.detail, /^greeter\.Greeter\.Fail failed: /);
    }
  });

  it("answers 404 naming an unknown endpoint and listing the known ones", async () => {
    const s = f.services[0]!;
    const e = await rejection(
      f.client().call(background(), newRequest("greeter", "Greeter.Nope", {}), { address: s.address }),
    );
    assert.equal(e.code, 404);
    assert.match(e.detail, /endpoint "Greeter\.Nope" not found on service "greeter"; it has: Greeter\.Hello/);
  });

  it("answers 404 for a service that is not at that address", async () => {
    const s = f.services[0]!;
    const e = await rejection(
      f.client().call(background(), newRequest("billing", "Billing.Pay", {}), { address: s.address }),
    );
    assert.equal(e.code, 404);
    assert.match(e.detail, /service "billing" is not served at this address/);
  });

  it("answers 404 for a service the registry does not know, naming the registry and similar names", async () => {
    const e = await rejection(f.client().call(background(), newRequest("greeters", "Greeter.Hello", {})));
    assert.equal(e.code, 404);
    assert.match(e.detail, /service "greeters" not found in registry memory; .*similar: greeter/);
  });

  it("refuses an unknown content type naming the supported ones", async () => {
    const e = await rejection(
      f.client().call(background(), newRequest("greeter", "Greeter.Hello", {}, { contentType: "text/yaml" })),
    );
    assert.equal(e.code, 415);
    assert.match(
      e.detail,
      /unsupported content type "text\/yaml"; supported: application\/json, application\/msgpack/,
    );
  });

  it("times out with the service, endpoint, node, wait and phase in the error", async () => {
    const e = await rejection(
      f
        .client({ retries: 0 })
        .call(background(), newRequest("greeter", "Greeter.Slow", { ms: 2000 }), { requestTimeoutMs: 100 }),
    );
    assert.equal(e.code, 408);
    assert.match(
      e.detail,
      /call to greeter\.Greeter\.Slow timed out after \d+ ms \(its timeout of 100 ms\) while waiting for the response on node greeter-/,
    );
  });

  it("bounds a call by the caller's deadline when it is earlier than its own timeout", async () => {
    const ctx = withTimeout(background(), 150);
    const t0 = Date.now();
    const e = await rejection(
      f.client().call(ctx, newRequest("greeter", "Greeter.Slow", { ms: 3000 }), { requestTimeoutMs: 10_000 }),
    );
    assert.equal(e.code, 408);
    assert.match(e.detail, /the caller's deadline/);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  });

  it("sends the remaining time: the handler's deadline is the caller's", async () => {
    const ctx = withTimeout(background(), 2000);
    const r = await f.client().call(ctx, newRequest("greeter", "Greeter.Slow", { ms: 1 }));
    assert.ok(
      Math.abs(r.deadline - ctx.deadline!) < 100,
      `handler deadline ${r.deadline} vs caller ${ctx.deadline}`,
    );
  });

  it("retries retryable errors and only those", async () => {
    await f.start("flaky", [new Flaky()]);
    flaky = 0;
    const r = await f.client({ retries: 2 }).call(background(), newRequest("flaky", "Flaky.Once", {}));
    assert.equal(r.attempts, 2, "the 503 was retried once");
    flaky = 0;
    const e = await rejection(
      f.client({ retries: 3 }).call(background(), newRequest("flaky", "Flaky.Never", {})),
    );
    assert.equal(e.code, 400);
    assert.equal(flaky, 1, "a 400 is not retried");
  });

  it("runs client wrappers outermost-first and server wrappers around the handler", async () => {
    const order: string[] = [];
    const cw =
      (name: string): CallWrapper =>
      (next) =>
      async (ctx, req, opts) => {
        order.push(`${name}>`);
        const r = await next(ctx, req, opts);
        order.push(`<${name}`);
        return r;
      };
    const sw: HandlerWrapper = (next) => async (ctx, req) => {
      const r = (await next(ctx, req)) as { msg: string };
      return { ...r, msg: `${r.msg} (wrapped ${req.endpoint})` };
    };
    const s = await f.start("wrapped", [new Greeter()], { wrappers: [sw] });
    const c = f.client({ wrappers: [cw("a"), cw("b")] });
    const r = await c.call(background(), newRequest("wrapped", "Greeter.Hello", { name: "w" }), {
      address: s.address,
    });
    assert.equal(r.msg, "hello w (wrapped Greeter.Hello)");
    assert.deepEqual(order, ["a>", "b>", "<b", "<a"]);
  });

  it("refuses a request over the frame limit before sending, and the connection keeps working", async () => {
    const c = f.client();
    const big = "x".repeat(5 * 1024 * 1024);
    const e = await rejection(c.call(background(), newRequest("greeter", "Greeter.Hello", { name: big })));
    assert.equal(e.code, 413);
    assert.match(e.detail, /over the frame limit of 4194304 bytes/);
    const r = await within(
      c.call(background(), newRequest("greeter", "Greeter.Hello", { name: "ok" })),
      5000,
      "the next call",
    );
    assert.equal(r.msg, "hello ok");
  });

  it("a pool of one socket carries a chain A→B→C→D on one address (nested calls never wait for a connection)", async () => {
    let addr = "";
    const c = f.client({ poolSize: 1, requestTimeoutMs: 10_000 });
    const hop = (next: string | undefined) => async (ctx: Context) => {
      if (next === undefined) return { depth: ctx.chain.length };
      return c.call(ctx, newRequest("chain", `Chain.${next}`, {}), { address: addr });
    };
    class Chain {
      A = hop("B");
      B = hop("C");
      C = hop("D");
      D = hop(undefined);
    }
    // Methods as fields: give them a prototype the router can read.
    const handler = Object.assign(Object.create({ constructor: Chain }), new Chain());
    const s = await f.start("chain", [handler]);
    addr = s.address;
    const results = await within(
      Promise.all(
        Array.from({ length: 200 }, () =>
          c.call(background(), newRequest("chain", "Chain.A", {}), { address: addr }),
        ),
      ),
      20_000,
      "200 concurrent A→B→C→D chains on a pool of one socket",
    );
    assert.ok(results.every((r) => r.depth === 4));
  });
});

describe("plain AbortController cancellation", () => {
  const f = fixture();
  after(() => f.close());

  it("an abort without a MicroError reason is a 499, not a 500", async () => {
    class Slow {
      async Wait() {
        await delay(2000);
        return {};
      }
    }
    await f.start("slow", [new Slow()]);
    const controller = new AbortController();
    const call = f
      .client()
      .call(background(), newRequest("slow", "Slow.Wait", {}), { signal: controller.signal });
    await delay(50);
    controller.abort();
    const e = await rejection(call, 2000, "the aborted call");
    assert.equal(e.code, 499);
    assert.match(e.detail, /the caller cancelled/);
  });
});
