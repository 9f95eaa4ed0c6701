/**
 * Lifecycle defects (issue 11), each with the behaviour that was wrong: a closed selector
 * that still watched, a partial start left running, a service client on the wrong codecs,
 * a unary endpoint shadowing a stream, driver loading, start-up failures as MicroErrors.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { brokerFromEnv } from "../src/broker/env.js";
import { newRequest } from "../src/client/request.js";
import { createJsonCodec, defaultCodecs } from "../src/codec/index.js";
import { background, withTimeout } from "../src/context.js";
import { bidiStream, defineContract } from "../src/contract/contract.js";
import { implement } from "../src/contract/implement.js";
import { isMicroError } from "../src/errors.js";
import { registryFromEnv } from "../src/registry/default.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import type { Registry } from "../src/registry/registry.js";
import { createSelector } from "../src/selector/selector.js";
import { newService } from "../src/service/service.js";
import { waitFor } from "../src/testing/wait.js";
import { emitSignal, within } from "./helpers.js";

/** A registry that counts the watches still running. */
function counting(inner: Registry): Registry & { watching: () => number; watches: () => number } {
  let watching = 0;
  let watches = 0;
  return {
    ...inner,
    name: inner.name,
    register: (s, o) => inner.register(s, o),
    deregister: (s) => inner.deregister(s),
    getService: (n) => inner.getService(n),
    listServices: () => inner.listServices(),
    close: () => inner.close(),
    watch(o) {
      watches++;
      watching++;
      const w = inner.watch(o);
      let done = false;
      const end = () => {
        if (!done) {
          done = true;
          watching--;
        }
      };
      return {
        stop() {
          end();
          w.stop();
        },
        async *[Symbol.asyncIterator]() {
          try {
            yield* w;
          } finally {
            end();
          }
        },
      } as typeof w;
    },
    watching: () => watching,
    watches: () => watches,
  };
}

function tcpServers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;
}

/** Listening sockets back to `n` (a closed handle leaves the list on the next turn). */
async function tcpServersBackTo(n: number, what: string): Promise<void> {
  await waitFor(`${what} (TCP servers back to ${n}, now ${tcpServers()})`, 2000, async () =>
    tcpServers() === n ? true : undefined,
  );
}

// One at a time: the listener counts below are process-wide (the runner's
// --test-concurrency would otherwise run these suites side by side).
describe("lifecycle defects", { concurrency: 1 }, () => {
  describe("selector after close", () => {
    it("select() after close() answers from the registry and starts no watch", async () => {
      const inner = createMemoryRegistry();
      await inner.register({
        name: "s",
        version: "1",
        metadata: {},
        endpoints: [],
        nodes: [{ id: "n1", address: "127.0.0.1:1", metadata: {} }],
      });
      const registry = counting(inner);
      const selector = createSelector({ registry });
      assert.equal((await selector.select("s"))().id, "n1");
      assert.equal(registry.watching(), 1, "an open selector watches");
      selector.close();
      assert.equal(registry.watching(), 0, "close stops the watch");
      // A call still running on an old client snapshot selects again after close.
      assert.equal((await selector.select("s"))().id, "n1");
      assert.equal(registry.watching(), 0, "no watch is started by a select after close");
      assert.equal(registry.watches(), 1);
    });
  });

  describe("service.start() undoes a partial start", () => {
    it("a failed registration leaves no subscription, broker listener or service listener behind", async () => {
      const inner = createMemoryRegistry();
      // Registration of the service itself fails; the http broker's own records go through.
      const registry: Registry = {
        ...inner,
        name: inner.name,
        getService: (n) => inner.getService(n),
        listServices: () => inner.listServices(),
        deregister: (s) => inner.deregister(s),
        watch: (o) => inner.watch(o),
        close: () => inner.close(),
        register: (s, o) =>
          s.name === "undo" ? Promise.reject(new Error("registry refused undo")) : inner.register(s, o),
      };
      const before = tcpServers();
      const svc = newService({ name: "undo", registry, broker: undefined });
      svc.subscribe("undo.topic", () => {});
      await assert.rejects(svc.start(), /registry refused undo/);
      assert.deepEqual(
        (await inner.listServices()).map((s) => s.name),
        [],
        "the http broker's subscriber record was removed",
      );
      await tcpServersBackTo(before, "the service and broker listeners closed");
      await within(svc.stop(), 2000, "stop() after a failed start");
    });

    it("a port in use is a MicroError naming the service and the option to change", async () => {
      const blocker: Server = createServer();
      await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
      const { port } = blocker.address() as { port: number };
      const before = tcpServers();
      const svc = newService({
        name: "busy-port",
        registry: createMemoryRegistry(),
        address: `127.0.0.1:${port}`,
      });
      try {
        const err = await svc.start().then(
          () => assert.fail("start on a busy port succeeded"),
          (e: unknown) => e,
        );
        assert.ok(isMicroError(err), `a MicroError, got ${String(err)}`);
        assert.match(err.detail, /service busy-port could not listen on 127\.0\.0\.1:\d+/);
        assert.match(err.detail, /already in use/);
        assert.match(err.detail, /newService\(\{ address \}\)/);
        await tcpServersBackTo(before, "no listener left by the failed start");
        await within(svc.stop(), 2000, "stop() after a failed listen");
        assert.throws(() => svc.address, /not started/);
      } finally {
        await new Promise((r) => blocker.close(r));
      }
    });
  });

  describe("stop() and run()'s signal during start()", () => {
    it("stop() called while start() is under way waits for it and undoes it", async () => {
      const registry = createMemoryRegistry();
      const svc = newService({ name: "stop-early", registry });
      const starting = svc.start();
      await within(svc.stop(), 5000, "stop() during start()");
      await starting.catch(() => {});
      assert.deepEqual(await registry.getService("stop-early"), [], "not left registered");
      // Its own address refuses connections (a process-wide listener count would also see
      // other tests' handles closing).
      const refused = await new Promise<string>((resolve) => {
        const [host, port] = svc.address.split(":");
        const c = connect({ host: host!, port: Number(port) });
        c.once("connect", () => {
          c.destroy();
          resolve("connected");
        });
        c.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
      });
      assert.equal(refused, "ECONNREFUSED", "not left listening");
    });

    it("a SIGTERM that arrives during run()'s start stops the service once started", async () => {
      const registry = createMemoryRegistry();
      const svc = newService({ name: "signal-early", registry });
      const running = svc.run({ exitProcess: false });
      emitSignal("SIGTERM");
      await within(running, 5000, "run() to return after the SIGTERM");
      assert.deepEqual(await registry.getService("signal-early"), [], "deregistered");
    });
  });

  describe("newService({ codecs })", () => {
    it("service.client uses the service's codecs", async () => {
      const custom = { ...createJsonCodec(), contentType: "application/x-lifecycle" };
      const codecs = defaultCodecs().with(custom);
      const registry = createMemoryRegistry();
      const svc = newService({ name: "codecs", registry, codecs });
      svc.handle({ Echo: async (_ctx: unknown, req: unknown) => req }, { name: "Codecs" });
      await svc.start();
      try {
        const rsp = await svc.client.call(
          withTimeout(background(), 5000),
          newRequest("codecs", "Codecs.Echo", { a: 1 }, { contentType: "application/x-lifecycle" }),
        );
        assert.deepEqual(rsp, { a: 1 });
      } finally {
        await svc.stop();
      }
    });
  });

  describe("router", () => {
    it("refuses a unary endpoint with the name of a stream endpoint", () => {
      const C = defineContract("Dup", { chat: bidiStream<{ t: string }, { t: string }>() });
      const svc = newService({ name: "dup", registry: createMemoryRegistry() });
      svc.handle(
        implement(C, {
          async *chat(_ctx, reqs) {
            for await (const r of reqs) yield r;
          },
        }),
      );
      assert.throws(
        () => svc.handle({ chat: () => ({}) }, { name: "Dup" }),
        /endpoint Dup\.chat is already registered/,
      );
    });
  });

  describe("drivers", () => {
    it("a broker backend missing as a CommonJS module (MODULE_NOT_FOUND) says which package to install", async () => {
      const load = async (s: string) => {
        throw Object.assign(new Error(`Cannot find module '${s}'`), { code: "MODULE_NOT_FOUND" });
      };
      const b = brokerFromEnv({ kind: "redis", load });
      await assert.rejects(b.publish("t", { headers: {}, body: new Uint8Array() }), (e: unknown) => {
        assert.ok(isMicroError(e));
        assert.equal(
          e.detail,
          "MICRO_BROKER=redis needs the package @tsmicro/redis, which is not installed: run npm install @tsmicro/redis",
        );
        return true;
      });
    });

    it("any other registry kind loads from @tsmicro/<kind>, as the CLI README says", async () => {
      const asked: string[] = [];
      const inner = createMemoryRegistry();
      const r = registryFromEnv({
        kind: "consul",
        address: "127.0.0.1:8500",
        load: async (s) => {
          asked.push(s);
          return { registryFromAddress: () => inner };
        },
      });
      assert.deepEqual(await r.listServices(), []);
      assert.deepEqual(asked, ["@tsmicro/consul"]);
    });

    it("MICRO_REGISTRY=consul fails on use with a MicroError saying what to install, not at import", async () => {
      const saved = process.env.MICRO_REGISTRY;
      process.env.MICRO_REGISTRY = "consul";
      let r: Registry;
      try {
        r = registryFromEnv();
      } finally {
        if (saved === undefined) delete process.env.MICRO_REGISTRY;
        else process.env.MICRO_REGISTRY = saved;
      }
      const svc = newService({ name: "consul-user", registry: r });
      await assert.rejects(svc.start(), (e: unknown) => {
        assert.ok(isMicroError(e));
        assert.match(e.detail, /MICRO_REGISTRY=consul needs the package @tsmicro\/consul/);
        return true;
      });
    });
  });
});
