// One middleware object, registered once on a service, sees all five paths: the service's
// client's calls, streams and publishes, and the service's handlers (unary and stream) and
// subscribers. It also adds metadata on the way out that the receiving side reads (what an
// auth token or a trace context needs), so each path is shown carrying it, not just seen.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createMemoryBroker } from "../src/broker/memory.js";
import { newMessage } from "../src/client/publish.js";
import { background, type Context } from "../src/context.js";
import { defineContract, serverStream, unary } from "../src/contract/contract.js";
import { implement } from "../src/contract/implement.js";
import type { Middleware } from "../src/middleware.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { newService } from "../src/service/service.js";
import { within } from "./helpers.js";

const Demo = defineContract("Demo", {
  echo: unary<{ text: string }, { text: string; token: string }>(),
  count: serverStream<{ n: number }, { i: number; token: string }>(),
});

describe("middleware on every path", () => {
  const seen: string[] = [];
  const TOKEN = "x-mw-token";
  const mw: Middleware = {
    name: "observer",
    call: (next) => (ctx, req, opts) => {
      seen.push(`call ${req.endpoint}`);
      return next(ctx, req, { ...opts, metadata: { ...opts.metadata, [TOKEN]: "from-call" } });
    },
    stream: (next) => (ctx, req, opts) => {
      seen.push(`stream ${req.endpoint}`);
      return next(ctx, req, { ...opts, metadata: { ...opts.metadata, [TOKEN]: "from-stream" } });
    },
    publish: (next) => (ctx, message, opts) => {
      seen.push(`publish ${message.topic}`);
      return next(ctx, message, { ...opts, metadata: { ...opts.metadata, [TOKEN]: "from-publish" } });
    },
    handler: (next) => (ctx, req) => {
      seen.push(`handler ${req.endpoint} token=${ctx.metadata[TOKEN]}`);
      return next(ctx, req);
    },
    subscriber: (next, info) => (ctx, payload, event) => {
      seen.push(`subscriber ${event.topic} token=${ctx.metadata[TOKEN]} of ${info.service}/${info.topic}`);
      return next(ctx, payload, event);
    },
  };
  const registry = createMemoryRegistry();
  const broker = createMemoryBroker();
  let delivered: (v: unknown) => void = () => {};
  const got = new Promise((resolve) => {
    delivered = resolve;
  });
  const svc = newService({ name: "mw-demo", registry, broker, middleware: [mw] })
    .handle(
      implement(Demo, {
        echo: async (ctx: Context, req) => ({ text: req.text, token: ctx.metadata[TOKEN] ?? "" }),
        async *count(ctx: Context, req) {
          for (let i = 0; i < req.n; i++) yield { i, token: ctx.metadata[TOKEN] ?? "" };
        },
      }),
    )
    .subscribe("mw.events", (_ctx, payload) => {
      delivered(payload);
    });
  after(async () => {
    await svc.stop();
    await registry.close();
  });

  it("call: the hook runs and its metadata reaches the handler hook and the handler", async () => {
    await svc.start();
    seen.length = 0;
    const r = await within(
      svc.client.service(Demo, "mw-demo").echo(background(), { text: "hi" }),
      5000,
      "echo",
    );
    assert.deepEqual(r, { text: "hi", token: "from-call" });
    assert.deepEqual(seen, ["call Demo.echo", "handler Demo.echo token=from-call"]);
  });

  it("stream: the hook runs when the stream opens and its metadata reaches the stream handler", async () => {
    seen.length = 0;
    const out: { i: number; token: string }[] = [];
    const s = svc.client.service(Demo, "mw-demo").count(background(), { n: 3 });
    await within(
      (async () => {
        for await (const m of s) out.push(m);
      })(),
      5000,
      "3 stream messages",
    );
    assert.deepEqual(
      out.map((m) => m.token),
      ["from-stream", "from-stream", "from-stream"],
    );
    assert.deepEqual(seen, ["stream Demo.count", "handler Demo.count token=from-stream"]);
  });

  it("publish and subscribe: both hooks run, the publish hook's metadata reaches the subscriber", async () => {
    seen.length = 0;
    await svc.client.publish(background(), newMessage("mw.events", { n: 1 }));
    assert.deepEqual(await within(got, 5000, "the message at the subscriber"), { n: 1 });
    assert.deepEqual(seen, [
      "publish mw.events",
      "subscriber mw.events token=from-publish of mw-demo/mw.events",
    ]);
  });

  it("a client with no middleware runs none (negative control)", async () => {
    seen.length = 0;
    const { newClient } = await import("../src/client/client.js");
    const c = newClient({ registry, broker });
    const r = await within(c.service(Demo, "mw-demo").echo(background(), { text: "x" }), 5000, "echo");
    assert.equal(r.token, "", "no call hook added the token");
    assert.deepEqual(seen, ["handler Demo.echo token=undefined"], "only the service's handler hook ran");
    await c.close();
  });
});
