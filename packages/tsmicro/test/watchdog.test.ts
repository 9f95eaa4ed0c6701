// The stall doctor's scan (issue 16): each stuck call is reported once per phase, calls still
// moving are neither reported nor copied, and a call stuck again in a new phase is reported again.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InflightTable, setPhase } from "../src/inflight.js";
import { startWatchdog } from "../src/watchdog.js";
import { delay } from "./helpers.js";

describe("stall doctor scan", () => {
  it("takeStuck copies only calls past the threshold, once per call and phase", () => {
    const table = new InflightTable();
    const now = Date.now();
    const old = table.add("client", "svc", "A.Old", undefined, "sent", undefined, [], now - 5000);
    table.add("client", "svc", "A.New", undefined, "sent", undefined, [], now - 10);
    const first = table.takeStuck(1000, now);
    assert.deepEqual(
      first.map((c) => [c.endpoint, c.phase, c.phaseAgeMs]),
      [["A.Old", "sent", 5000]],
    );
    assert.equal(Object.hasOwn(first[0]!, "reported"), false, "the watchdog's mark is not in the copy");
    assert.deepEqual(table.takeStuck(1000, now + 500), [], "not reported twice in the same phase");
    setPhase(old, "backoff"); // its phase clock restarts at Date.now()
    assert.deepEqual(table.takeStuck(1000, now + 500), [], "a new phase starts its own clock");
    const again = table.takeStuck(1000, Date.now() + 2000);
    assert.deepEqual(
      again.map((c) => [c.endpoint, c.phase]).sort(),
      [
        ["A.New", "sent"],
        ["A.Old", "backoff"],
      ],
      "stuck in its new phase: reported again; the other one is stuck now too",
    );
    assert.equal(table.snapshot().length, 2, "the scan removes nothing from the table");
  });

  it("the watchdog on a table logs each stuck call once", async () => {
    const table = new InflightTable();
    table.add("server", "svc", "B.Stuck", "n1", "handling", undefined, ["up.A.B@n0"], Date.now() - 100);
    const logs: string[] = [];
    const stop = startWatchdog(table, { thresholdMs: 50, intervalMs: 10, log: (m) => logs.push(m) });
    try {
      await delay(80);
    } finally {
      stop();
    }
    assert.equal(logs.length, 1, `one report across several scans: ${logs.join("\n")}`);
    assert.match(logs[0]!, /server call svc\.B\.Stuck has been handling for \d+ ms .*chain: up\.A\.B@n0 ->/);
  });
});
