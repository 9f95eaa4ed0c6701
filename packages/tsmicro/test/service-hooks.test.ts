// Service lifecycle: beforeStart/afterStart/beforeStop/afterStop hooks, `dependencies`,
// `registerCheck`, and run() resolving after a clean shutdown instead of exiting.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { versionMatches } from "../src/service/lifecycle.js";
import { newService } from "../src/service/service.js";
import { delay, emitSignal, rejection, within } from "./helpers.js";

class Echo {
  async Call(_ctx: unknown, req: unknown) {
    return req;
  }
}

async function nodes(registry: ReturnType<typeof createMemoryRegistry>, name: string): Promise<number> {
  const rs = await registry.getService(name).catch(() => []);
  return rs.reduce((n, r) => n + r.nodes.length, 0);
}

describe("service lifecycle hooks", () => {
  it("runs the four hooks in order around start and stop", async () => {
    const registry = createMemoryRegistry();
    const order: string[] = [];
    const svc = newService({
      name: "hooks",
      registry,
      beforeStart: async () => {
        order.push(`beforeStart registered=${await nodes(registry, "hooks")}`);
      },
      afterStart: async () => {
        order.push(`afterStart registered=${await nodes(registry, "hooks")}`);
      },
      beforeStop: async () => {
        order.push(`beforeStop registered=${await nodes(registry, "hooks")}`);
      },
      afterStop: () => {
        order.push("afterStop");
      },
    });
    svc.handle(new Echo());
    await svc.start();
    await svc.stop();
    assert.deepEqual(order, [
      "beforeStart registered=0",
      "afterStart registered=1",
      "beforeStop registered=1",
      "afterStop",
    ]);
    assert.equal(await nodes(registry, "hooks"), 0);
    await registry.close();
  });

  it("a failing beforeStart aborts start: nothing listens or registers, the error is the hook's", async () => {
    const registry = createMemoryRegistry();
    let afterStart = 0;
    const svc = newService({
      name: "hooks-fail",
      registry,
      beforeStart: () => {
        throw new Error("config missing");
      },
      afterStart: () => {
        afterStart++;
      },
    });
    const e = await rejection(svc.start(), 5000, "start to fail");
    assert.equal(e.message, "config missing");
    assert.equal(afterStart, 0);
    assert.equal(await nodes(registry, "hooks-fail"), 0);
    assert.throws(() => svc.address, /before .*start|not started|listen/i);
    await svc.stop(); // a no-op, and does not hang
    await registry.close();
  });

  it("a failing afterStart deregisters and fails start", async () => {
    const registry = createMemoryRegistry();
    const svc = newService({
      name: "hooks-after",
      registry,
      afterStart: () => {
        throw new Error("warm-up failed");
      },
    });
    const e = await rejection(svc.start(), 5000, "start to fail");
    assert.equal(e.message, "warm-up failed");
    assert.equal(await nodes(registry, "hooks-after"), 0);
    await registry.close();
  });
});

describe("service dependencies", () => {
  it("start waits for the dependencies to register, with version ranges", async () => {
    const registry = createMemoryRegistry();
    const app = newService({ name: "app", registry, dependencies: ["billing", "stock@^2"] });
    let started = false;
    const starting = app.start().then(() => {
      started = true;
    });
    const billing = newService({ name: "billing", registry });
    await billing.start();
    const stockOld = newService({ name: "stock", version: "1.9.0", registry });
    await stockOld.start();
    await delay(300);
    assert.equal(started, false, "stock 1.9.0 does not satisfy ^2");
    assert.equal(await nodes(registry, "app"), 0);
    const stock = newService({ name: "stock", version: "2.1.0", registry });
    await stock.start();
    await within(starting, 5000, "app to start once billing and stock@2 are registered");
    assert.equal(await nodes(registry, "app"), 1);
    for (const s of [app, billing, stockOld, stock]) await s.stop();
    await registry.close();
  });

  it("start fails after dependencyTimeoutMs naming the missing ones, leaving nothing behind", async () => {
    const registry = createMemoryRegistry();
    const other = newService({ name: "billing", registry });
    await other.start();
    const app = newService({
      name: "app2",
      registry,
      dependencies: ["billing", "stock@^2", "audit"],
      dependencyTimeoutMs: 300,
    });
    const e = await rejection(app.start(), 5000, "start to time out");
    assert.equal(e.code, 503);
    assert.match(e.detail, /"stock@\^2", "audit" were not registered .* within 300 ms/);
    assert.doesNotMatch(e.detail, /"billing"/);
    assert.equal(await nodes(registry, "app2"), 0);
    await other.stop();
    await registry.close();
  });

  it("version ranges: ^, ~, exact, *", () => {
    assert.equal(versionMatches("2.1.0", "^2"), true);
    assert.equal(versionMatches("3.0.0", "^2"), false);
    assert.equal(versionMatches("2.0.9", "^2.1"), false);
    assert.equal(versionMatches("1.2.5", "~1.2"), true);
    assert.equal(versionMatches("1.3.0", "~1.2"), false);
    assert.equal(versionMatches("latest", "*"), true);
    assert.equal(versionMatches("v1.0.0", "1.0.0"), true);
  });
});

describe("registerCheck", () => {
  it("a failing check deregisters the node before the next refresh; a passing one registers it again", async () => {
    const registry = createMemoryRegistry();
    let healthy = true;
    let checks = 0;
    const svc = newService({
      name: "gated",
      registry,
      registerIntervalMs: 50,
      registerCheck: () => {
        checks++;
        if (!healthy) throw new Error("database down");
      },
      log: () => {},
    });
    await svc.start();
    assert.equal(await nodes(registry, "gated"), 1);
    healthy = false;
    const until = async (want: number, what: string) => {
      const end = Date.now() + 5000;
      while ((await nodes(registry, "gated")) !== want) {
        if (Date.now() > end) throw new Error(`timed out after 5000 ms waiting for ${what}`);
        await delay(20);
      }
    };
    await until(0, "the unhealthy node to be deregistered");
    healthy = true;
    await until(1, "the healthy node to be registered again");
    assert.ok(checks >= 2, `checks ran ${checks} times`);
    await svc.stop();
    await registry.close();
  });
});

describe("run()", () => {
  it("resolves after a clean shutdown on SIGTERM instead of exiting the process", async () => {
    const registry = createMemoryRegistry();
    let stopped = false;
    const svc = newService({
      name: "runner",
      registry,
      log: () => {},
      afterStop: () => {
        stopped = true;
      },
    });
    const running = svc.run();
    const end = Date.now() + 5000;
    while ((await nodes(registry, "runner")) === 0) {
      if (Date.now() > end) throw new Error("timed out waiting for run() to register the service");
      await delay(20);
    }
    emitSignal("SIGTERM");
    await within(running, 5000, "run() to resolve after SIGTERM");
    assert.equal(stopped, true, "run() resolved after stop() finished");
    assert.equal(await nodes(registry, "runner"), 0);
    await registry.close();
  });

  it("rejects with start()'s error instead of exiting", async () => {
    const registry = createMemoryRegistry();
    const svc = newService({
      name: "runner-fail",
      registry,
      log: () => {},
      beforeStart: () => {
        throw new Error("nope");
      },
    });
    const e = await rejection(svc.run(), 5000, "run() to reject");
    assert.equal(e.message, "nope");
    await registry.close();
  });
});
