// The seed scenario (go-micro #2708) as tests, through the public package "tsmicro":
// (a) 1,000 concurrent FuncA → FuncB (init() + nested call) → FuncC with init() storms that
//     replace the pool, with defaultClient, with newClient(), and across two processes;
// (b) the negative control: the same chain through a model of go-micro's lock must be
//     reported as stalled by the same harness.
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { after, describe, it } from "node:test";
import { createMemoryRegistry, defaultClient, newClient, newRequest, newService } from "tsmicro";
import { createGoMicroLockModel, fireConcurrently } from "../../../examples/seed/harness.mjs";
import { createTestService, stormInit } from "../../../examples/seed/test-service.mjs";

const CALLS = 1000;
const TIMEOUT_MS = 10_000;
// Far below the call timeout: a call still pending this long is stuck, not slow.
const STALL_MS = 4000;

async function startTestService(client, reinit) {
  const service = newService({ name: "TestService", registry: createMemoryRegistry() });
  service.handle(
    createTestService(
      () => client,
      () => service.address,
      reinit,
    ),
  );
  await service.start();
  return service;
}

/** Runs init() on `client` in a loop until stopped; every 10th replaces the pool. */
function storm(client) {
  let on = true;
  let n = 0;
  const done = (async () => {
    while (on) {
      client.init(n % 10 === 0 ? { poolSize: 1 + (n % 5), retries: 1 } : { retries: 1 + (n % 3) });
      n++;
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  return async () => {
    on = false;
    await done;
    return n;
  };
}

function assertNoStall(r, label) {
  assert.equal(r.stalled, 0, `${label}: ${r.stalled} call(s) stalled; errors: ${r.errors.join("; ")}`);
  assert.equal(r.failed, 0, `${label}: ${r.failed} call(s) failed: ${r.errors.join("; ")}`);
  assert.equal(r.completed, CALLS, `${label}: completed`);
  assert.ok(r.maxMs < TIMEOUT_MS, `${label}: slowest call took ${r.maxMs} ms, past its deadline`);
}

describe("seed scenario: nested call during init() (go-micro #2708)", { timeout: 120_000 }, () => {
  after(() => defaultClient.close());

  it("completes with defaultClient under an init() storm that replaces the pool", async () => {
    defaultClient.init({ requestTimeoutMs: TIMEOUT_MS });
    const service = await startTestService(defaultClient, stormInit);
    const stop = storm(defaultClient);
    const r = await fireConcurrently({
      count: CALLS,
      stallMs: STALL_MS,
      call: (ctx) =>
        defaultClient.call(ctx, newRequest("TestService", "TestService.FuncA", {}), {
          address: service.address,
        }),
    });
    const inits = await stop();
    await service.stop();
    console.log(`defaultClient: ${JSON.stringify({ ...r, errors: undefined, inits })}`);
    assertNoStall(r, "defaultClient");
    assert.ok(inits > 10, `the storm ran (${inits} init calls)`);
  });

  it("completes with newClient() under the same storm", async () => {
    const client = newClient({ requestTimeoutMs: TIMEOUT_MS, registry: createMemoryRegistry() });
    const service = await startTestService(client, stormInit);
    const stop = storm(client);
    const r = await fireConcurrently({
      count: CALLS,
      stallMs: STALL_MS,
      call: (ctx) =>
        client.call(ctx, newRequest("TestService", "TestService.FuncA", {}), { address: service.address }),
    });
    await stop();
    await service.stop();
    await client.close();
    assertNoStall(r, "newClient()");
  });

  it("completes across two processes (the service in a child process)", async () => {
    const child = fork(new URL("../../../examples/seed/server.mjs", import.meta.url), ["--client=default"], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    try {
      const address = await new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error("timed out after 15000 ms waiting for the child TestService")),
          15_000,
        );
        child.once("message", (m) => {
          clearTimeout(t);
          resolve(m.address);
        });
        child.once("exit", (code) => reject(new Error(`child TestService exited with ${code}`)));
      });
      const client = newClient({ requestTimeoutMs: TIMEOUT_MS, registry: createMemoryRegistry() });
      const stop = storm(client);
      const r = await fireConcurrently({
        count: CALLS,
        stallMs: STALL_MS,
        call: (ctx) => client.call(ctx, newRequest("TestService", "TestService.FuncA", {}), { address }),
      });
      await stop();
      await client.close();
      assertNoStall(r, "two processes");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("negative control: the same harness reports the go-micro lock model as stalled", async () => {
    const model = createGoMicroLockModel();
    const client = newClient({
      requestTimeoutMs: 60_000,
      wrappers: [model.wrapper],
      registry: createMemoryRegistry(),
    });
    const service = await startTestService(client, (c, i) => model.init(c, i));
    const outer = newClient({ requestTimeoutMs: 60_000, registry: createMemoryRegistry() });
    const r = await fireConcurrently({
      count: 50,
      stallMs: 1500,
      call: (ctx) =>
        outer.call(ctx, newRequest("TestService", "TestService.FuncA", {}), { address: service.address }),
    });
    // Cancelled by the harness, the stuck calls unwind and release the model's lock.
    await service.stop();
    await outer.close();
    await client.close();
    console.log(`go-micro lock model: ${r.stalled} of ${r.count} stalled, ${r.completed} completed`);
    assert.ok(r.stalled > 0, `the harness must catch the go-micro stall; got ${JSON.stringify(r)}`);
  });
});
