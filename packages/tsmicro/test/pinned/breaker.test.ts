/**
 * Pinned behaviours of the per-node circuit breakers (client/breaker.ts), on the `Breakers`
 * table itself with explicit clocks, so each boundary is exact: the options' checks, what
 * counts against a node, the sliding window and its error-rate threshold, the cool-down and the
 * half-open probe, the 503 when every node is open, the snapshot, and the sweep of idle
 * breakers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BREAKER_DEFAULTS,
  Breakers,
  countsAgainstNode,
  resolveBreakerOptions,
} from "../../src/client/breaker.js";
import { Code, MicroError } from "../../src/errors.js";
import type { Node } from "../../src/registry/registry.js";

const node = (id: string): Node => ({ id, address: `127.0.0.1:${id}`, metadata: {} });
const err = (code: number) => new MicroError({ id: "s", code, detail: "x" });
// Windows of 1,000 ms in 10 buckets of 100 ms; opens at half failed over at least 4 attempts.
const O = resolveBreakerOptions({ errorRate: 0.5, minRequests: 4, windowMs: 1000, coolDownMs: 500 });
const T0 = 1_000_000; // a bucket boundary: 100 ms buckets, 1,000 ms windows

/** Records `pattern` (true: failed) for `n` on `b` at `now`, none of them a probe. */
function record(b: Breakers, n: Node, pattern: boolean[], now = T0, service = "s") {
  for (const failed of pattern) b.record(service, n, failed, false, O, now);
}
const stateOf = (b: Breakers, n: Node, now = T0) => b.snapshot(O, now).find((s) => s.node === n.id);

describe("circuit breakers (pinned)", { timeout: 10_000 }, () => {
  it("options: defaults for what is unset or undefined; each bound checked and named", () => {
    assert.deepEqual({ ...resolveBreakerOptions({}) }, { ...BREAKER_DEFAULTS });
    assert.deepEqual(
      { ...resolveBreakerOptions({ minRequests: undefined, windowMs: 20 }) },
      { ...BREAKER_DEFAULTS, windowMs: 20 },
    );
    assert.ok(Object.isFrozen(resolveBreakerOptions({})));
    assert.equal(
      resolveBreakerOptions({ errorRate: 1 }).errorRate,
      1,
      "1 is allowed: open only when every attempt failed",
    );
    for (const errorRate of [0, -0.1, 1.01, Number.NaN])
      assert.throws(() => resolveBreakerOptions({ errorRate }), {
        name: "TypeError",
        message: `client option breaker.errorRate must be in (0, 1], got ${errorRate}`,
      });
    for (const k of ["minRequests", "windowMs", "coolDownMs"] as const) {
      assert.throws(() => resolveBreakerOptions({ [k]: 0 }), {
        message: `client option breaker.${k} must be a number > 0, got 0`,
      });
      assert.throws(() => resolveBreakerOptions({ [k]: "5" as unknown as number }), {
        message: `client option breaker.${k} must be a number > 0, got 5`,
      });
      assert.equal(resolveBreakerOptions({ [k]: 0.5 })[k], 0.5);
    }
  });

  it("counts transport failures, 5xx answers and the call's own timeouts; not 4xx nor the caller's deadline", () => {
    assert.equal(countsAgainstNode(err(404), true), true, "a transport failure, whatever the code");
    assert.equal(countsAgainstNode(err(Code.Timeout), false), true, "the call's own timeout: a slow node");
    assert.equal(
      countsAgainstNode(err(Code.Timeout), false, true),
      undefined,
      "the caller's deadline: no verdict",
    );
    assert.equal(countsAgainstNode(err(500), false, true), true);
    assert.equal(countsAgainstNode(err(503), false), true);
    assert.equal(countsAgainstNode(err(499), false), false);
    assert.equal(countsAgainstNode(err(400), false), false);
  });

  it("opens at the error rate over at least minRequests attempts, not below either", () => {
    const b = new Breakers();
    const n = node("1");
    record(b, n, [true, false, false]);
    assert.equal(stateOf(b, n)?.state, "closed", "3 attempts: below minRequests");
    record(b, n, [false, false]);
    assert.deepEqual(stateOf(b, n), {
      service: "s",
      node: "1",
      address: "127.0.0.1:1",
      state: "closed",
      requests: 5,
      failures: 1,
    });
    record(b, n, [true, true]);
    assert.equal(stateOf(b, n)?.state, "closed", "3 of 7 failed: below half");
    record(b, n, [true]);
    assert.equal(stateOf(b, n)?.state, "open", "4 of 8: half");
  });

  it("opens at exactly the error rate", () => {
    const b = new Breakers();
    const n = node("1");
    record(b, n, [true, false, true]);
    assert.equal(stateOf(b, n)?.state, "closed", "2 of 3: below minRequests");
    record(b, n, [false]);
    const s = stateOf(b, n);
    assert.equal(s?.state, "open", "2 of 4 is the rate of 0.5");
    assert.equal(s?.probeAt, T0 + O.coolDownMs);
    assert.equal(s?.requests, 0, "the window starts again when it opens");
  });

  it("counts only the attempts of the last window", () => {
    const b = new Breakers();
    const n = node("1");
    record(b, n, [true, true, true], T0);
    // 900 ms later the first bucket is still in the window; 1,000 ms later it is not.
    assert.equal(stateOf(b, n, T0 + 900)?.failures, 3);
    assert.equal(stateOf(b, n, T0 + 1000)?.failures, 0);
    record(b, n, [false], T0 + 1000);
    assert.equal(stateOf(b, n, T0 + 1000)?.state, "closed", "the 3 old failures no longer count: 0 of 1");
    // A bucket reused for a new slice starts from zero.
    record(b, n, [true, true], T0 + 1000);
    assert.deepEqual([stateOf(b, n, T0 + 1000)?.requests, stateOf(b, n, T0 + 1000)?.failures], [3, 2]);
  });

  it("an open breaker lets one probe through after its cool-down; the probe's success closes it", () => {
    const b = new Breakers();
    const n = node("1");
    record(b, n, [true, true, true, true]);
    const openedAt = T0;
    assert.equal(b.allows("s", n, O, openedAt + O.coolDownMs - 1), false, "cooling down");
    assert.equal(b.picked("s", n, O, openedAt + O.coolDownMs - 1), false, "cooling down: not a probe");
    assert.equal(b.stateOf("s", "1"), "open");
    assert.equal(b.allows("s", n, O, openedAt + O.coolDownMs), true, "due at exactly the cool-down");
    assert.equal(b.picked("s", n, O, openedAt + O.coolDownMs), true, "the probe");
    assert.equal(b.stateOf("s", "1"), "half-open");
    assert.equal(b.allows("s", n, O, openedAt + O.coolDownMs), false, "one probe at a time");
    assert.equal(
      b.picked("s", n, O, openedAt + O.coolDownMs),
      true,
      "two attempts that picked it at once both probe",
    );
    // Late reports of calls sent before it opened change nothing, not even the window.
    b.record("s", n, false, false, O, openedAt + O.coolDownMs);
    b.record("s", n, true, false, O, openedAt + O.coolDownMs);
    assert.equal(b.stateOf("s", "1"), "half-open");
    assert.equal(stateOf(b, n, openedAt + O.coolDownMs)?.requests, 0);
    b.record("s", n, false, true, O, openedAt + O.coolDownMs + 1);
    assert.equal(b.stateOf("s", "1"), undefined, "closed");
    const s = stateOf(b, n, openedAt + O.coolDownMs + 1);
    assert.deepEqual([s?.state, s?.requests, s?.failures, s?.probeAt], ["closed", 0, 0, undefined]);
    assert.equal(b.allows("s", n, O, openedAt + O.coolDownMs + 1), true);
    assert.equal(b.picked("s", n, O, openedAt + O.coolDownMs + 1), false, "closed: not a probe");
  });

  it("a failed probe opens it again from that moment; a probe with no verdict lets the next call probe at once", () => {
    const b = new Breakers();
    const n = node("1");
    record(b, n, [true, true, true, true]);
    const due = T0 + O.coolDownMs;
    assert.equal(b.picked("s", n, O, due), true);
    b.record("s", n, true, true, O, due + 50);
    assert.equal(b.stateOf("s", "1"), "open");
    assert.equal(stateOf(b, n, due + 50)?.probeAt, due + 50 + O.coolDownMs);
    assert.equal(b.allows("s", n, O, due + 50 + O.coolDownMs - 1), false);
    assert.equal(b.picked("s", n, O, due + 50 + O.coolDownMs), true);
    b.record("s", n, undefined, true, O, due + 60 + O.coolDownMs);
    assert.equal(b.stateOf("s", "1"), "open", "a cancelled probe: open again");
    assert.equal(b.allows("s", n, O, due + 60 + O.coolDownMs), true, "and due at once");
  });

  it("of two probes at once, a success closes it, and the other's no verdict leaves it closed", () => {
    const b = new Breakers();
    const n = node("1");
    record(b, n, [true, true, true, true]);
    const due = T0 + O.coolDownMs;
    assert.equal(b.picked("s", n, O, due), true);
    assert.equal(b.picked("s", n, O, due), true);
    b.record("s", n, false, true, O, due + 10);
    b.record("s", n, undefined, true, O, due + 20);
    assert.equal(b.stateOf("s", "1"), undefined, "closed");
  });

  it("keeps no breaker for a node whose only report is no verdict; failures of other services are their own", () => {
    const b = new Breakers();
    const n = node("1");
    b.record("s", n, undefined, false, O, T0);
    assert.deepEqual(b.snapshot(O, T0), []);
    record(b, n, [false], T0);
    b.record("s", n, undefined, false, O, T0);
    assert.equal(stateOf(b, n)?.requests, 1, "no verdict is not counted in the window either");
    record(b, n, [true, true, true, true], T0, "other");
    assert.equal(b.stateOf("other", "1"), "open");
    assert.equal(b.stateOf("s", "1"), undefined);
    assert.equal(b.allows("s", n, O, T0), true);
  });

  it("the all-open 503 names the service and the soonest probe of its own nodes", () => {
    const b = new Breakers();
    const [a, c] = [node("a"), node("c")];
    record(b, a, [true, true, true, true], T0);
    record(b, c, [true, true, true, true], T0 + 200);
    record(b, node("z"), [true, true, true, true], T0 - 100, "elsewhere"); // due first, but not "s"
    record(b, node("ok"), [false], T0); // closed: no probe to wait for
    const e = b.allOpen("s", 2, O, T0 + 300);
    assert.equal(e.code, 503);
    assert.equal(e.id, "s");
    assert.equal(e.retryable, false);
    assert.equal(
      e.detail,
      `circuit breakers are open for all 2 node(s) of service "s": not called (the next probe is due in 200 ms)`,
    );
    assert.match(
      b.allOpen("s", 2, O, T0 + 900).detail,
      /\(the next probe is due in 0 ms\)$/,
      "never negative",
    );
    b.picked("s", a, O, T0 + O.coolDownMs);
    assert.match(
      b.allOpen("s", 2, O, T0 + O.coolDownMs).detail,
      /\(the next probe is due in 200 ms\)$/,
      "the probing node is left out",
    );
    b.picked("s", c, O, T0 + 200 + O.coolDownMs);
    assert.match(b.allOpen("s", 2, O, T0 + 200 + O.coolDownMs).detail, /\(a probe is in flight\)$/);
  });

  it("the snapshot shows probeAt only for an open breaker, with the default cool-down when no options are given", () => {
    const b = new Breakers();
    const n = node("1");
    record(b, n, [true, true, true, true]);
    assert.equal(b.snapshot(undefined, T0)[0]?.probeAt, T0 + BREAKER_DEFAULTS.coolDownMs);
    b.picked("s", n, O, T0 + O.coolDownMs);
    assert.equal("probeAt" in b.snapshot(O, T0 + O.coolDownMs)[0]!, false, "half-open");
  });

  it("sweeps idle breakers once 256 are kept: empty closed ones and open ones nobody probed for a window", () => {
    const b = new Breakers();
    // 100 closed ones with an old window, 100 open since T0, 55 busy ones.
    for (let i = 0; i < 100; i++) record(b, node(`idle${i}`), [false], T0);
    for (let i = 0; i < 100; i++) record(b, node(`open${i}`), [true, true, true, true], T0);
    const later = T0 + O.coolDownMs + O.windowMs + 1;
    for (let i = 0; i < 55; i++) record(b, node(`busy${i}`), [false], later);
    b.picked("s", node("open0"), O, later);
    assert.equal(b.snapshot(O, later).length, 255);
    record(b, node("last"), [false], later);
    assert.equal(b.snapshot(O, later).length, 256, "the sweep runs when a new breaker would be the 257th");
    record(b, node("new"), [false], later);
    const kept = b.snapshot(O, later).map((s) => s.node);
    assert.equal(kept.length, 58, "55 busy + last + new + the open one being probed");
    assert.ok(
      kept.includes("open0") && kept.includes("busy0") && !kept.includes("idle0") && !kept.includes("open1"),
    );
  });

  it("an open breaker is kept until a window past its cool-down; the next sweep waits for twice the kept", () => {
    const edge = T0 + O.coolDownMs + O.windowMs;
    const swept = new Breakers();
    for (let i = 0; i < 256; i++) record(swept, node(`open${i}`), [true, true, true, true], T0);
    record(swept, node("new"), [false], edge + 1);
    assert.equal(swept.snapshot(O, edge + 1).length, 1, "a window and 1 ms past the cool-down: swept");

    const b = new Breakers();
    for (let i = 0; i < 256; i++) record(b, node(`open${i}`), [true, true, true, true], T0);
    record(b, node("new"), [false], edge);
    assert.equal(b.snapshot(O, edge).length, 257, "at exactly a window past: kept");
    // 256 kept: the next sweep comes at 512 breakers, even though the open ones are now idle.
    for (let i = 0; i < 255; i++) record(b, node(`more${i}`), [false], edge + 1);
    assert.equal(b.snapshot(O, edge + 1).length, 512);
    record(b, node("last"), [false], edge + 1);
    assert.equal(b.snapshot(O, edge + 1).length, 257, "the 256 open ones swept at 512");
  });
});
