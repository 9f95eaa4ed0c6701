/**
 * Pinned behaviours of the stall doctor's table (inflight.ts): what a record holds when added,
 * ids that only grow, snapshots that are copies (ages computed, the chain copied, a cycle seen
 * when the chain passes through the call's own service), the threshold's edge, and a phase
 * that changes only when it is a new one.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InflightTable, setPhase } from "../../src/inflight.js";

describe("in-flight table (pinned)", () => {
  it("add: every field as given, attempt 1, the phase clock and age both from `now`; ids grow; delete removes", () => {
    const t = new InflightTable();
    const chain = ["up.A.a@n0"];
    const a = t.add("client", "greeter", "Greeter.Hello", "n1", "selecting", 5000, chain, 1000);
    assert.deepEqual(
      { ...a },
      {
        id: a.id,
        side: "client",
        service: "greeter",
        endpoint: "Greeter.Hello",
        node: "n1",
        phase: "selecting",
        phaseSince: 1000,
        startedAt: 1000,
        deadline: 5000,
        chain,
        attempt: 1,
        reported: undefined,
      },
    );
    const b = t.add("server", "greeter", "Greeter.Hello", undefined, "handling", undefined, []);
    assert.ok(b.id > a.id);
    assert.ok(Math.abs(b.startedAt - Date.now()) < 1000, "now defaults to the clock");
    assert.equal(t.size, 2);
    t.delete(a);
    assert.equal(t.size, 1);
    assert.deepEqual(
      t.snapshot().map((c) => c.id),
      [b.id],
    );
  });

  it("snapshot: copies with ages, the chain copied, no phase clock or report mark, a cycle through its own service", () => {
    const t = new InflightTable();
    const chain = ["greeter.Greeter.Hello@n0", "mid.M.m@n2"];
    const c = t.add("client", "greeter", "Greeter.Hello", undefined, "sent", undefined, chain, 1000);
    c.phaseSince = 1500;
    const [s] = t.snapshot(3000);
    assert.equal(s!.ageMs, 2000);
    assert.equal(s!.phaseAgeMs, 1500);
    assert.equal(s!.cycle, true);
    assert.deepEqual(s!.chain, chain);
    assert.notEqual(s!.chain, chain, "a copy: the snapshot cannot change the record");
    assert.equal(Object.hasOwn(s!, "phaseSince"), false);
    assert.equal(Object.hasOwn(s!, "reported"), false);
    t.add("client", "other", "O.o", undefined, "sent", undefined, chain, 1000);
    assert.equal(t.snapshot(3000)[1]!.cycle, false);
    assert.equal(t.snapshot()[0]!.ageMs >= 0, true, "now defaults to the clock");
  });

  it("takeStuck: a call exactly at the threshold is stuck, one 1 ms under is not", () => {
    const t = new InflightTable();
    t.add("client", "s", "S.a", undefined, "sent", undefined, [], 1000);
    assert.deepEqual(t.takeStuck(500, 1499), []);
    assert.equal(t.takeStuck(500, 1500).length, 1);
  });

  it("setPhase: a new phase restarts the phase clock; the same phase, or no record, changes nothing", () => {
    const t = new InflightTable();
    const c = t.add("client", "s", "S.a", undefined, "sent", undefined, [], 1000);
    setPhase(c, "sent");
    assert.equal(c.phaseSince, 1000);
    setPhase(undefined, "sent");
    const before = Date.now();
    setPhase(c, "backoff");
    assert.equal(c.phase, "backoff");
    assert.ok(c.phaseSince >= before);
  });
});
