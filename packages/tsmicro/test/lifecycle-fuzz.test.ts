// Issue 11's lifecycle fuzzer: random sequences of start, stop, run()-style signal shutdown,
// init (timeouts, retries, pool, content type, selector and registry swaps), close, calls,
// streams (full, break out early, no half-close, encode failure), publish, subscribe,
// unsubscribe, registry add/remove and caller cancellation, with deadlines from 1 ms to none,
// against real services on real sockets (lifecycle/*.ts). After every step each operation
// settles within its bound + slack with a value or a MicroError and nothing is unhandled;
// after the final teardown the process's active resources are back at their baseline.
// Seeded and reproducible: a failure prints the seed and the shrunk command list.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { lifecycleProperty } from "./lifecycle/property.js";
import { outcomeReport, Peer, type Variant } from "./lifecycle/world.js";

const SEED = Number(process.env.LIFECYCLE_SEED ?? 20261201);
const RUNS = Number(process.env.LIFECYCLE_RUNS ?? 200);

describe("lifecycle fuzzer", { timeout: 600_000 }, () => {
  let peer: Peer;
  before(async () => {
    peer = new Peer();
    await peer.ready;
  });
  after(() => peer.close());

  it(`random lifecycles settle in time, with MicroErrors, and leave nothing open — ${RUNS} cases`, async () => {
    const t0 = Date.now();
    await fc.assert(lifecycleProperty("correct", peer), { seed: SEED, numRuns: RUNS });
    console.log(`lifecycle fuzzer: ${RUNS} cases in ${Date.now() - t0} ms; outcomes:\n${outcomeReport()}`);
  });
});

// Each control runs a deliberately wrong world: the property must fail, or it proves nothing.
describe("lifecycle fuzzer: negative controls", { timeout: 120_000 }, () => {
  async function mustFail(variant: Variant, expect: RegExp) {
    const r = await fc.check(lifecycleProperty(variant), { seed: SEED + 1, numRuns: 3, endOnFailure: true });
    assert.ok(r.failed, `the ${variant} variant passed ${r.numRuns} runs: the harness cannot see it`);
    assert.match(String((r.errorInstance as Error | undefined)?.message), expect);
  }
  it("a leaked timer is caught", () => mustFail("leaked-timer", /leaks: 1 × Timeout left open/));
  it("a leaked socket is caught", () => mustFail("leaked-socket", /leaks: 1 × TCPSocketWrap left open/));
  it("a close that never resolves is caught", () =>
    mustFail(
      "close-never-resolves",
      /settle: teardown: client\.close\(\) did not settle within 4000 \+ \d+ ms/,
    ));
});
