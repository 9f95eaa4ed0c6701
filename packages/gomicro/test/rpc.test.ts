/**
 * RPC on go-micro's wire, both directions, against go-micro v4.10.2 processes found through
 * etcd and through the NATS registry: unary, error, metadata, timeout and server streams.
 * tsmicro runs createGoMicroTransport() with createGoMicroEtcdRegistry() or
 * createGoMicroNatsRegistry(); go-micro runs its defaults (HTTP transport, mucp) with the etcd
 * or nats registry plugin.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startEtcd } from "@tsmicro/etcd/testing";
import {
  background,
  type Context,
  defineContract,
  implement,
  MicroError,
  newClient,
  newRequest,
  newService,
  serverStream,
  unary,
  withMetadata,
  withTimeout,
} from "tsmicro";
import { defaultCodecs } from "tsmicro/plugin";
import {
  createGoMicroEtcdRegistry,
  createGoMicroNatsRegistry,
  createGoMicroTransport,
  JSON_RPC,
  withGoMicroCodecs,
} from "../src/index.js";
import { buildGoPrograms, type GoProcess, startGo } from "../src/testing/index.js";
import { goCall, uniqueName } from "./harness/fleet.js";

const build = await buildGoPrograms();
const etcd = await startEtcd({ private: true });
after(() => etcd.stop());
const NATS = process.env.TSMICRO_TEST_NATS ?? "127.0.0.1:4222";
// A NATS lookup gathers the replies within queryTimeoutMs: 500 ms leaves a loaded machine time
// to answer (the default 100 ms does not always).
const registries = [
  {
    name: "etcd",
    flags: ["-registry", "etcd", "-registry_address", etcd.endpoint],
    create: () => createGoMicroEtcdRegistry({ endpoints: etcd.endpoint }),
  },
  {
    name: "NATS",
    flags: ["-registry", "nats", "-registry_address", NATS],
    create: () => createGoMicroNatsRegistry({ servers: NATS, queryTimeoutMs: 500 }),
  },
];

const Greeter = defineContract("Greeter", {
  Hello: unary<{ name: string }, { msg: string; metadata: Record<string, string>; deadlineMs: number }>({}),
  Fail: unary<{ name: string }, never>({}),
  Sleep: unary<{ ms: number }, { msg: string }>({}),
  Stream: serverStream<{ count: number; name: string }, { n: number; msg: string }>({}),
});

for (const r of registries) {
  const flags = r.flags;
  describe(`tsmicro client -> go-micro Greeter (${r.name})`, () => {
    const name = uniqueName("go-greeter");
    const registry = r.create();
    const client = newClient({ registry, transport: createGoMicroTransport(), retries: 0 });
    let greeter: GoProcess;
    before(async () => {
      greeter = startGo(build, "greeter", [...flags, "-name", name]);
      await greeter.json("the go-micro greeter to register", 20_000, (v) => "listening" in v);
    });
    after(async () => {
      await greeter.kill();
      await client.close();
      await registry.close();
    });

    test("unary", async () => {
      const rsp = (await client.call(
        withTimeout(background(), 5000),
        newRequest(name, "Greeter.Hello", { name: "Ada" }),
      )) as { msg: string };
      assert.match(rsp.msg, /^Hello Ada from go-micro /);
    });

    test("unary as application/json-rpc: tsmicro wraps go-micro's JSON-RPC envelope and unwraps the result", async () => {
      const rpcClient = newClient({
        registry,
        transport: createGoMicroTransport(),
        retries: 0,
        codecs: withGoMicroCodecs(defaultCodecs()),
      });
      try {
        const rsp = (await rpcClient.call(
          withTimeout(background(), 5000),
          newRequest(name, "Greeter.Hello", { name: "Ada" }, { contentType: JSON_RPC }),
        )) as { msg: string };
        assert.match(rsp.msg, /^Hello Ada from go-micro /);
        const err = await rpcClient
          .call(background(), newRequest(name, "Greeter.Fail", { name: "Ada" }, { contentType: JSON_RPC }))
          .then(
            () => assert.fail("Greeter.Fail succeeded over JSON-RPC"),
            (e: unknown) => e as MicroError,
          );
        assert.ok(err instanceof MicroError, String(err));
        assert.deepEqual([err.id, err.code, err.detail], ["greeter.fail", 418, "no tea for Ada"]);
      } finally {
        await rpcClient.close();
      }
    });

    test("error: go-micro's {id, code, detail, status} arrives as the same MicroError", async () => {
      const err = await client.call(background(), newRequest(name, "Greeter.Fail", { name: "Ada" })).then(
        () => assert.fail("Greeter.Fail succeeded"),
        (e: unknown) => e as MicroError,
      );
      assert.ok(err instanceof MicroError);
      assert.deepEqual(
        { id: err.id, code: err.code, detail: err.detail, status: err.status },
        {
          id: "greeter.fail",
          code: 418,
          detail: "no tea for Ada",
          status: "I'm a teapot",
        },
      );
    });

    test("metadata reaches the go-micro handler", async () => {
      const ctx = withMetadata(background(), { "x-tenant": "acme", "x-trace": "t-1" });
      const rsp = (await client.call(ctx, newRequest(name, "Greeter.Hello", { name: "Ada" }))) as {
        metadata: Record<string, string>;
      };
      assert.equal(rsp.metadata["X-Tenant"], "acme");
      assert.equal(rsp.metadata["X-Trace"], "t-1");
    });

    test("timeout: the caller's deadline is the go-micro handler's, and a slow handler times out", async () => {
      const rsp = (await client.call(
        withTimeout(background(), 2000),
        newRequest(name, "Greeter.Hello", { name: "Ada" }),
      )) as { deadlineMs: number };
      assert.ok(rsp.deadlineMs > 0 && rsp.deadlineMs <= 2000, `handler saw ${rsp.deadlineMs} ms left`);
      const t0 = Date.now();
      const err = await client
        .call(withTimeout(background(), 300), newRequest(name, "Greeter.Sleep", { ms: 10_000 }))
        .then(
          () => assert.fail("Greeter.Sleep returned within 300 ms"),
          (e: unknown) => e as MicroError,
        );
      assert.equal(err.code, 408);
      assert.ok(Date.now() - t0 < 2000, `the timeout took ${Date.now() - t0} ms`);
    });

    test("server stream: messages, end of stream, and an error after messages", async () => {
      const stream = await client.stream(
        withTimeout(background(), 5000),
        newRequest(name, "Greeter.Stream", { count: 3, name: "Ada" }),
      );
      const got: unknown[] = [];
      for await (const m of stream) got.push(m);
      assert.deepEqual(
        got,
        [0, 1, 2].map((n) => ({ n, msg: "hi Ada" })),
      );
      const failing = await client.stream(
        withTimeout(background(), 5000),
        newRequest(name, "Greeter.Stream", { count: -2, name: "Ada" }),
      );
      const before: unknown[] = [];
      const err = await (async () => {
        for await (const m of failing) before.push(m);
      })().then(
        () => assert.fail("the failing stream ended cleanly"),
        (e: unknown) => e as MicroError,
      );
      assert.equal(before.length, 2);
      assert.equal(err.code, 409);
      assert.equal(err.detail, "failed after 2 messages");
    });
  });

  describe(`go-micro client -> tsmicro Greeter (${r.name})`, () => {
    const name = uniqueName("ts-greeter");
    const registry = r.create();
    const service = newService({ name, registry, transport: createGoMicroTransport() });
    service.handle(
      implement(Greeter, {
        Hello: async (ctx: Context, req) => ({
          msg: `Hello ${req.name} from tsmicro`,
          metadata: { ...ctx.metadata },
          deadlineMs: ctx.deadline === undefined ? -1 : ctx.deadline - Date.now(),
        }),
        Fail: async (_ctx, req) => {
          throw new MicroError({
            id: "ts.greeter.fail",
            code: 418,
            detail: `no tea for ${req.name}`,
            status: "I'm a teapot",
          });
        },
        Sleep: async (ctx, req) => {
          await new Promise((resolve, reject) => {
            const t = setTimeout(resolve, req.ms);
            ctx.signal.addEventListener("abort", () => {
              clearTimeout(t);
              reject(ctx.signal.reason);
            });
          });
          return { msg: "slept" };
        },
        async *Stream(_ctx, req) {
          for (let n = 0; n < Math.abs(req.count); n++) yield { n, msg: `hi ${req.name}` };
          if (req.count < 0)
            throw new MicroError({
              id: "ts.greeter.stream",
              code: 409,
              detail: `failed after ${-req.count} messages`,
            });
        },
      }),
    );
    const go = (...args: string[]) => goCall(build, [...flags, "-service", name, ...args]);
    before(() => service.start());
    after(async () => {
      await service.stop();
      await registry.close();
    });

    test("unary", async () => {
      const r = await go("-case", "hello", "-name", "Gopher");
      assert.equal(r.ok, true, r.raw);
      assert.equal(r.response?.msg, "Hello Gopher from tsmicro");
    });

    test("error: a MicroError arrives as go-micro's {id, code, detail, status}", async () => {
      const r = await go("-case", "error", "-name", "Gopher");
      assert.equal(r.ok, false);
      assert.deepEqual(r.error, {
        id: "ts.greeter.fail",
        code: 418,
        detail: "no tea for Gopher",
        status: "I'm a teapot",
      });
    });

    test("metadata reaches the tsmicro handler", async () => {
      const r = await go("-case", "metadata");
      assert.equal(r.ok, true, r.raw);
      const md = r.response?.metadata as Record<string, string>;
      assert.equal(md["x-tenant"], "acme");
      assert.equal(md["x-request-from"], "go-micro");
    });

    test("timeout: go-micro's Timeout header is the tsmicro handler's deadline", async () => {
      const r = await go("-case", "hello", "-timeout", "3s");
      assert.equal(r.ok, true, r.raw);
      // go-micro sends its connection timeout (5 s by default) in Timeout, in nanoseconds.
      const left = r.response?.deadlineMs as number;
      assert.ok(left > 0 && left <= 5000, `handler saw ${left} ms left`);
      const slow = await go("-case", "timeout", "-sleep", "10000", "-timeout", "500ms");
      assert.equal(slow.ok, false);
      assert.equal(slow.error?.code, 408, slow.raw);
      assert.ok(slow.ms < 3000, `the go-micro call took ${slow.ms} ms`);
    });

    test("unary as application/json-rpc: go-micro's envelope is unwrapped for the handler and wrapped back", async () => {
      const r = await go("-case", "hello", "-name", "Gopher", "-content_type", "application/json-rpc");
      assert.equal(r.ok, true, r.raw);
      assert.equal(r.response?.msg, "Hello Gopher from tsmicro");
      const e = await go("-case", "error", "-name", "Gopher", "-content_type", "application/json-rpc");
      assert.deepEqual(e.error, {
        id: "ts.greeter.fail",
        code: 418,
        detail: "no tea for Gopher",
        status: "I'm a teapot",
      });
    });

    test("server stream: messages, end of stream, and an error after messages", async () => {
      const r = await go("-case", "stream", "-count", "3", "-name", "Gopher");
      assert.equal(r.ok, true, r.raw);
      assert.deepEqual(
        r.messages,
        [0, 1, 2].map((n) => ({ n, msg: "hi Gopher" })),
      );
      const f = await go("-case", "stream", "-count", "-2", "-name", "Gopher");
      assert.equal(f.ok, false);
      assert.equal(f.messages?.length, 2);
      assert.equal(f.error?.code, 409, f.raw);
      assert.equal(f.error?.detail, "failed after 2 messages");
    });
  });
}
