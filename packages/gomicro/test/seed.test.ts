/**
 * The seed, for real: go-micro #2708's call graph (FuncA -> FuncB, which starts
 * `go client.DefaultClient.Init()` and calls FuncC) in a Go program built with go-micro
 * v4.10.2 stalls on the client's RWMutex; the same graph in tsmicro completes every call
 * while init() runs in a loop. The go-micro run is also the negative control for the
 * tsmicro run: the same harness, counting the same way, does see a stall when there is one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  background,
  type Client,
  type Context,
  createMemoryRegistry,
  newClient,
  newRequest,
  newService,
  withTimeout,
} from "tsmicro";
import { createGoMicroTransport } from "../src/index.js";
import { buildGoPrograms, startGo } from "../src/testing/index.js";
import { excerpt, lastDump, rpcClientLocks } from "./harness/dump.js";

const build = await buildGoPrograms();

test("go-micro v4.10.2: the seed's call graph stalls on rpcClient's RWMutex", {
  timeout: 60_000,
}, async () => {
  const calls = 200;
  const boundMs = 3000;
  const server = startGo(build, "seed", ["serve"]);
  let driver: ReturnType<typeof startGo> | undefined;
  try {
    const { listening } = await server.json<{ listening: string }>(
      "the seed server's address",
      15_000,
      (v) => "listening" in v,
    );
    driver = startGo(build, "seed", [
      "drive",
      "-addr",
      listening,
      "-n",
      String(calls),
      "-bound",
      `${boundMs}ms`,
    ]);
    // While the calls are in flight, ask for goroutine dumps until one shows the lock picture.
    const deadline = Date.now() + boundMs;
    let locks: ReturnType<typeof rpcClientLocks> | undefined;
    let dumps = 0;
    while (Date.now() < deadline) {
      server.child.kill("SIGUSR1");
      dumps++;
      const before = server.stderr().length;
      const dump = await waitForDump(server, before, 2000);
      locks = rpcClientLocks(dump);
      if (locks.readers.length > 0 && locks.writers.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const summary = await driver.json<{
      calls: number;
      completed: number;
      stuck: number;
      failed: number;
      errors: string[];
    }>("the driver's summary", boundMs + 15_000, (v) => "stuck" in v);
    console.error(`seed/go-micro: ${JSON.stringify(summary)}`);
    assert.ok(locks, "no goroutine dump was taken");
    console.error(
      `seed/go-micro dump (${dumps} taken): ${locks.goroutines} goroutines, ${locks.readers.length} waiting in sync.(*RWMutex).RLock inside rpcClient, ` +
        `${locks.writers.length} in sync.(*RWMutex).Lock inside rpcClient.Init\n${excerpt(locks.readers.find((g) => g.stack.includes("FuncB")) ?? locks.readers[0] ?? { id: 0, state: "-", stack: "" })}\n${excerpt(locks.writers[0] ?? { id: 0, state: "-", stack: "" }, 6)}`,
    );
    assert.ok(locks.writers.length >= 1, "the dump shows no rpcClient.Init waiting for the write lock");
    assert.ok(locks.readers.length >= 1, "the dump shows no rpcClient call waiting for the read lock");
    assert.ok(
      locks.readers.some(
        (g) => g.stack.includes("sync.(*RWMutex).RLock") && g.stack.includes("main.(*TestService).Func"),
      ),
      "no handler's nested call waits in sync.(*RWMutex).RLock",
    );
    // Stuck: still running when the bound ran out (not failed with an error).
    assert.equal(summary.failed, 0, `calls failed instead of stalling: ${summary.errors.join("; ")}`);
    assert.ok(
      summary.stuck >= calls / 2,
      `only ${summary.stuck}/${calls} calls were stuck at the ${boundMs} ms bound`,
    );
  } finally {
    await driver?.kill();
    await server.kill();
  }
});

async function waitForDump(p: ReturnType<typeof startGo>, from: number, ms: number): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const dump = lastDump(p.stderr().slice(from));
    if (dump) return dump;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for a goroutine dump on SIGUSR1`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The seed's call graph in tsmicro: handlers call through `client()` and re-initialise it meanwhile. */
function testService(client: () => Client, address: () => string) {
  let storm = 0;
  return new (class TestService {
    async FuncA(ctx: Context) {
      await client().call(ctx, newRequest("TestService", "TestService.FuncB", {}), { address: address() });
      return {};
    }
    async FuncB(ctx: Context) {
      const i = storm++;
      client().init(i % 50 === 0 ? { retries: 2, poolSize: 1 + (i % 7) } : { retries: 1 + (i % 3) });
      await client().call(ctx, newRequest("TestService", "TestService.FuncC", {}), { address: address() });
      return {};
    }
    async FuncC() {
      return {};
    }
  })();
}

for (const wire of ["tcp", "go-micro"] as const) {
  test(`tsmicro: the same call graph completes 1000/1000 while init() runs in a loop (${wire} wire)`, {
    timeout: 60_000,
  }, async () => {
    const calls = 1000;
    // A bound against hangs, not a speed limit: the shared test machine is often loaded.
    const boundMs = 15_000;
    const transport = wire === "go-micro" ? createGoMicroTransport() : undefined;
    const inner = newClient({ requestTimeoutMs: 30_000, transport });
    const service = newService({
      name: "TestService",
      address: "127.0.0.1:0",
      registry: createMemoryRegistry(),
      client: inner,
      transport,
    });
    service.handle(
      testService(
        () => inner,
        () => service.address,
      ),
    );
    await service.start();
    const caller = newClient({ requestTimeoutMs: 30_000, transport });
    let storming = true;
    let inits = 0;
    const storm = (async () => {
      while (storming) {
        caller.init({ retries: 1 + (inits++ % 3) });
        await new Promise((r) => setImmediate(r));
      }
    })();
    try {
      let completed = 0;
      let stuck = 0;
      const started = Date.now();
      const errors: string[] = [];
      await Promise.all(
        Array.from({ length: calls }, async () => {
          const ctx = withTimeout(background(), boundMs);
          try {
            await caller.call(ctx, newRequest("TestService", "TestService.FuncA", {}), {
              address: service.address,
            });
            completed++;
          } catch (err) {
            if (ctx.signal.aborted) stuck++;
            else errors.push(String(err));
          }
        }),
      );
      console.error(
        `seed/tsmicro (${wire} wire): ${completed}/${calls} completed in ${Date.now() - started} ms, ${stuck} stuck at the ${boundMs} ms bound, ${inits} init() calls`,
      );
      assert.deepEqual(errors, []);
      assert.equal(stuck, 0);
      assert.equal(completed, calls);
      assert.ok(inits > 0);
    } finally {
      storming = false;
      await storm;
      await caller.close();
      await service.stop();
      await inner.close();
    }
  });
}

test("mixed: go-micro -> tsmicro FuncA -> go-micro FuncB: the stall is in go-micro's client, tsmicro keeps serving", {
  timeout: 60_000,
}, async () => {
  const calls = 200;
  const boundMs = 3000;
  const gomicro = startGo(build, "seed", ["serve"]);
  const transport = createGoMicroTransport();
  const client = newClient({ requestTimeoutMs: 10_000, transport, retries: 0 });
  let goAddress = "";
  // tsmicro serves FuncA (calls go-micro's FuncB, which re-inits go-micro's client and calls FuncC) and a local FuncC.
  const service = newService({
    name: "TestService",
    address: "127.0.0.1:0",
    registry: createMemoryRegistry(),
    client,
    transport,
  });
  service.handle(
    new (class TestService {
      async FuncA(ctx: Context) {
        await client.call(ctx, newRequest("TestService", "TestService.FuncB", {}), { address: goAddress });
        return {};
      }
      async FuncC() {
        return {};
      }
    })(),
  );
  let driver: ReturnType<typeof startGo> | undefined;
  try {
    goAddress = (
      await gomicro.json<{ listening: string }>(
        "the go-micro seed server's address",
        15_000,
        (v) => "listening" in v,
      )
    ).listening;
    await service.start();
    driver = startGo(build, "seed", [
      "drive",
      "-addr",
      service.address,
      "-n",
      String(calls),
      "-bound",
      `${boundMs}ms`,
    ]);
    // While go-micro's FuncB calls are stuck: its dump shows them on the RWMutex, and tsmicro
    // still answers through the very client its FuncA handlers are waiting in.
    const deadline = Date.now() + boundMs;
    let locks: ReturnType<typeof rpcClientLocks> | undefined;
    let stuckHere = 0;
    let probes = 0;
    let probeMaxMs = 0;
    while (Date.now() < deadline) {
      gomicro.child.kill("SIGUSR1");
      const before = gomicro.stderr().length;
      locks = rpcClientLocks(await waitForDump(gomicro, before, 2000));
      const t0 = Date.now();
      await client.call(withTimeout(background(), 1000), newRequest("TestService", "TestService.FuncC", {}), {
        address: service.address,
      });
      probeMaxMs = Math.max(probeMaxMs, Date.now() - t0);
      probes++;
      stuckHere = service.inflight().filter((c) => c.endpoint === "TestService.FuncA").length;
      if (locks.readers.length > 0 && locks.writers.length > 0 && stuckHere > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const summary = await driver.json<{
      calls: number;
      completed: number;
      stuck: number;
      failed: number;
      errors: string[];
    }>("the go-micro driver's summary", boundMs + 15_000, (v) => "stuck" in v);
    assert.ok(locks);
    console.error(
      `seed/mixed: ${JSON.stringify(summary)}; go-micro dump: ${locks.readers.length} in RLock, ${locks.writers.length} in Init's Lock; ` +
        `tsmicro: ${stuckHere} FuncA handlers waiting on go-micro, ${probes} probe calls through the same tsmicro client answered (slowest ${probeMaxMs} ms)`,
    );
    assert.ok(locks.writers.length >= 1, "go-micro's dump shows no Init waiting for the write lock");
    assert.ok(
      locks.readers.some((g) => g.stack.includes("main.(*TestService).FuncB")),
      "go-micro's dump shows no FuncB call waiting in sync.(*RWMutex).RLock",
    );
    assert.ok(
      !locks.readers.some((g) => g.stack.includes("main.(*TestService).FuncA")),
      "FuncA runs in tsmicro, not go-micro",
    );
    assert.ok(stuckHere > 0, "no tsmicro FuncA handler was waiting on go-micro");
    assert.ok(probes > 0 && probeMaxMs < 1000, "tsmicro's client stopped answering while go-micro stalled");
    assert.ok(summary.stuck > 0, `no call was stuck at the bound: ${JSON.stringify(summary)}`);
  } finally {
    await driver?.kill();
    await gomicro.kill();
    await service.stop();
    await client.close();
  }
});
