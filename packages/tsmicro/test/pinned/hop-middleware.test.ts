/**
 * Pinned behaviours of call-chain hops (util/hop.ts), the middleware model (middleware.ts) and
 * the stall doctor's report (watchdog.ts) that no test checked directly: rendering, prefix
 * matching with a count, the structured last hop, hook order, and the scan over a list.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { InflightSnapshot } from "../../src/inflight.js";
import { InflightTable } from "../../src/inflight.js";
import { around, type Middleware } from "../../src/middleware.js";
import { extendChain, hopOf, passesThrough, renderHop } from "../../src/util/hop.js";
import { describeStuck, startWatchdog } from "../../src/watchdog.js";
import { delay } from "../helpers.js";
import { exitsAlone } from "../support/exits-alone.js";

describe("hops (pinned)", { timeout: 10_000 }, () => {
  it("renders service.endpoint@node, or service.endpoint before a node is chosen", () => {
    assert.equal(
      renderHop({ service: "go.micro.srv.greeter", endpoint: "Greeter.Hello", node: "n1" }),
      "go.micro.srv.greeter.Greeter.Hello@n1",
    );
    assert.equal(renderHop({ service: "a", endpoint: "B.C" }), "a.B.C");
  });

  it("passesThrough matches a service's whole name as a prefix, within the first count hops only", () => {
    const chain = ["web.Api.Get@n1", "greeter.Greeter.Hello@n2"];
    assert.equal(passesThrough(chain, "greeter"), true);
    assert.equal(passesThrough(chain, "web"), true);
    assert.equal(passesThrough(chain, "gree"), false, "a name that is only a prefix of another's");
    assert.equal(passesThrough(chain, "greeter.Greeter.Hello@n2"), false);
    assert.equal(passesThrough(chain, "greeter", 1), false, "the second hop is past count");
    assert.equal(passesThrough(chain, "web", 1), true);
    assert.equal(passesThrough([], "web"), false);
  });

  it("extendChain appends the rendered hop without touching the chain before, and remembers the hop", () => {
    const hop = { service: "a", endpoint: "B.C", node: "n" };
    const first = extendChain(undefined, hop);
    assert.deepEqual([...first], ["a.B.C@n"]);
    assert.equal(hopOf(first), hop);
    assert.deepEqual([...extendChain([], hop)], ["a.B.C@n"]);
    const before = ["x.Y.Z@m"];
    const next = extendChain(before, { service: "b", endpoint: "D.E" });
    assert.deepEqual([...next], ["x.Y.Z@m", "b.D.E"]);
    assert.deepEqual(before, ["x.Y.Z@m"], "the chain before is not changed");
    assert.deepEqual(hopOf(next), { service: "b", endpoint: "D.E" });
    assert.equal(hopOf(["a.B.C@n"]), undefined, "a chain the server did not build has no structured hop");
    assert.equal(JSON.stringify(next), '["x.Y.Z@m","b.D.E"]', "on the wire it is a plain array");
  });
});

describe("middleware (pinned)", { timeout: 10_000 }, () => {
  it("the first middleware is the outermost; middleware without the hook is skipped; info reaches each hook", () => {
    const seen: string[] = [];
    const tag =
      (name: string) =>
      (next: (x: string) => string, info?: unknown): ((x: string) => string) => {
        seen.push(`${name}:${JSON.stringify(info)}`);
        return (x) => `${name}(${next(x)})`;
      };
    const mw = [
      { name: "outer", subscriber: tag("outer") },
      { name: "none" },
      { name: "inner", subscriber: tag("inner") },
    ] as unknown as Middleware[];
    const info = { service: "s", topic: "t", queue: undefined };
    const fn = around(mw, "subscriber", (x: string) => `bottom(${x})`, info);
    assert.equal(fn("m"), "outer(inner(bottom(m)))");
    assert.deepEqual(
      seen,
      [`inner:${JSON.stringify(info)}`, `outer:${JSON.stringify(info)}`],
      "wrapped from the inside out, once each",
    );
    const bottom = (x: string) => x;
    assert.equal(around([], "call", bottom), bottom, "no middleware: the bottom function itself");
  });
});

describe("stall doctor report (pinned)", { timeout: 30_000 }, () => {
  const snap = (o: Partial<InflightSnapshot>): InflightSnapshot => ({
    id: 1,
    side: "client",
    service: "svc",
    endpoint: "A.B",
    node: "n1",
    phase: "sent",
    startedAt: Date.now(),
    deadline: undefined,
    chain: [],
    attempt: 1,
    ageMs: 120,
    phaseAgeMs: 100,
    cycle: false,
    ...o,
  });

  it("describes a stuck call with its side, phase, ages, node, breaker, attempt, chain and cycle", () => {
    assert.equal(
      describeStuck(snap({ chain: ["web.Api.Get@n0"], breaker: "open", cycle: true, attempt: 2 })),
      "tsmicro stall doctor: client call svc.A.B has been sent for 100 ms (age 120 ms, node n1 whose circuit breaker is open, attempt 2) chain: web.Api.Get@n0 -> svc.A.B (re-enters a service already in its chain)",
    );
    assert.match(
      describeStuck(snap({ chain: ["a.X.y@1", "b.Z.w@2"] })),
      / chain: a\.X\.y@1 -> b\.Z\.w@2 -> svc\.A\.B$/,
    );
    assert.equal(
      describeStuck(snap({ node: undefined })),
      "tsmicro stall doctor: client call svc.A.B has been sent for 100 ms (age 120 ms, node ?, attempt 1) svc.A.B",
    );
  });

  it("over a list: reports a call once per phase, again in a new phase, never one under the threshold", async () => {
    let calls = [snap({ id: 1, phaseAgeMs: 100 }), snap({ id: 2, phaseAgeMs: 5 })];
    const logs: string[] = [];
    const stop = startWatchdog(() => calls, { thresholdMs: 50, intervalMs: 10, log: (m) => logs.push(m) });
    try {
      await delay(60);
      assert.equal(logs.length, 1, `one report across several scans: ${logs.join("\n")}`);
      assert.match(logs[0]!, /has been sent for 100 ms/);
      calls = [snap({ id: 1, phase: "backoff", phaseAgeMs: 70 }), snap({ id: 2, phaseAgeMs: 5 })];
      await delay(60);
      assert.equal(logs.length, 2, "reported again in its new phase");
      assert.match(logs[1]!, /has been backoff for 70 ms/);
      calls = [];
      await delay(40);
      calls = [snap({ id: 1, phase: "backoff", phaseAgeMs: 90 })];
      await delay(60);
      assert.equal(logs.length, 3, "a call that left the list is forgotten, and reported if it is back");
    } finally {
      stop();
    }
    const after = logs.length;
    calls = [snap({ id: 9, phaseAgeMs: 500 })];
    await delay(40);
    assert.equal(logs.length, after, "no scan after stop()");
  });

  it("a call exactly at the threshold is reported; by default the report goes to console.warn", async () => {
    const warned: string[] = [];
    const original = console.warn;
    console.warn = (m: string) => warned.push(m);
    const stop = startWatchdog(() => [snap({ id: 3, phaseAgeMs: 50 })], { thresholdMs: 50, intervalMs: 10 });
    try {
      await delay(40);
    } finally {
      stop();
      console.warn = original;
    }
    assert.equal(warned.length, 1, warned.join("\n"));
    assert.match(warned[0]!, /has been sent for 50 ms/);
  });

  it("over a table: stop() ends the scans", async () => {
    const table = new InflightTable();
    const logs: string[] = [];
    const stop = startWatchdog(table, { thresholdMs: 20, intervalMs: 10, log: (m) => logs.push(m) });
    stop();
    table.add("client", "svc", "A.Late", undefined, "sent", undefined, [], Date.now() - 1000);
    await delay(50);
    assert.deepEqual(logs, [], "no scan after stop()");
  });

  it("a running watchdog does not keep the process alive, over a list or a table", async () => {
    const src = new URL("../../src/watchdog.ts", import.meta.url).href;
    const inflight = new URL("../../src/inflight.ts", import.meta.url).href;
    await exitsAlone(
      `import { startWatchdog } from ${JSON.stringify(src)}; import { InflightTable } from ${JSON.stringify(inflight)};
       startWatchdog(() => [], { thresholdMs: 20 }); startWatchdog(new InflightTable(), { thresholdMs: 20 })`,
      "two running watchdogs",
    );
  });

  it("the scan interval defaults to half the threshold, at least 10 ms", async () => {
    let scans = 0;
    const stop = startWatchdog(
      () => {
        scans++;
        return [];
      },
      { thresholdMs: 200, log: () => {} },
    );
    await delay(250);
    stop();
    assert.ok(scans >= 1 && scans <= 3, `about 2 scans in 250 ms at 100 ms, got ${scans}`);
    let fast = 0;
    const stop2 = startWatchdog(
      () => {
        fast++;
        return [];
      },
      { thresholdMs: 2, log: () => {} },
    );
    await delay(100);
    stop2();
    assert.ok(fast <= 12, `at most about 10 scans in 100 ms at the 10 ms floor, got ${fast}`);
  });
});
