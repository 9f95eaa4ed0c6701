// One path per concept (issue 13) and the defects it fixes (issue 11): every user-given delay
// goes through one deadline helper; unary calls and streams reach nodes through one attempt
// (selector counts, phases); a structured hop makes dotted service names work everywhere;
// a stream refused before it starts leaves nothing open.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { z } from "zod";
import type { Client } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background, type Context, withTimeout } from "../src/context.js";
import { bidiStream, defineContract, unary } from "../src/contract/contract.js";
import { implement } from "../src/contract/implement.js";
import type { MicroError } from "../src/errors.js";
import { createSelector, type Selector } from "../src/selector/selector.js";
import { leastInflight } from "../src/selector/strategy.js";
import { waitFor } from "../src/testing/wait.js";
import { createTcpTransport } from "../src/transport/tcp.js";
import type { Transport } from "../src/transport/transport.js";
import { MAX_TIMER_MS, startTimer, stopTimer } from "../src/util/deadline.js";
import { delay, fixture, rejection, within } from "./helpers.js";

const DAY = 24 * 60 * 60 * 1000;

/** A promise and the function that settles it. */
function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { open, wait };
}

describe("deadlines from users: one helper, no overflow", () => {
  const f = fixture();
  after(() => f.close());
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on("warning", onWarning);
  after(() => process.off("warning", onWarning));

  class Echo {
    async slow(ctx: Context, req: { ms: number }) {
      await delay(req.ms);
      return {
        left: ctx.deadline === undefined ? null : ctx.deadline - Date.now(),
        aborted: ctx.signal.aborted,
      };
    }
  }

  it("requestTimeoutMs: Infinity means no deadline: calls succeed", async () => {
    await f.start("forever", [new Echo()]);
    const client = f.client({ requestTimeoutMs: Number.POSITIVE_INFINITY });
    const r = await within(
      client.call<{ left: number | null; aborted: boolean }>(
        background(),
        newRequest("forever", "Echo.slow", { ms: 30 }),
      ),
      5000,
      "a call with an infinite timeout",
    );
    assert.deepEqual(r, { left: null, aborted: false });
    assert.deepEqual(
      warnings.filter((w) => w.startsWith("TimeoutOverflowWarning")),
      [],
    );
  });

  it("a call under withTimeout(ctx, 30 days) succeeds and the handler sees the 30 days", async () => {
    const client = f.client();
    const ctx = withTimeout(background(), 30 * DAY);
    assert.equal(ctx.signal.aborted, false);
    await delay(20); // Node would have fired a clamped 30-day timer after 1 ms
    assert.equal(ctx.signal.aborted, false, "the 30-day context aborted at once");
    const r = await within(
      client.call<{ left: number | null; aborted: boolean }>(
        ctx,
        newRequest("forever", "Echo.slow", { ms: 30 }),
        {
          requestTimeoutMs: 31 * DAY,
        },
      ),
      5000,
      "a call under a 30-day deadline",
    );
    // The wire caps a timeout at one year (transport/headers.ts); 30 days arrive whole.
    assert.ok(r.left !== null && r.left > 29 * DAY, `the handler saw ${r.left} ms left`);
    assert.equal(r.aborted, false);
    assert.deepEqual(
      warnings.filter((w) => w.startsWith("TimeoutOverflowWarning")),
      [],
    );
  });

  it("a delay above 2^31-1 ms is chained, not clamped; Infinity sets no timer", async () => {
    let fired = false;
    const t = startTimer(() => {
      fired = true;
    }, MAX_TIMER_MS + 1000);
    await delay(30);
    stopTimer(t);
    assert.equal(fired, false, "a long timer fired early");
    assert.equal(
      startTimer(() => {}, Number.POSITIVE_INFINITY),
      undefined,
    );
    // Negative control: the raw timer Node clamps is what the helper avoids.
    let raw = false;
    const onW = () => {};
    process.on("warning", onW);
    const r = setTimeout(() => {
      raw = true;
    }, MAX_TIMER_MS + 1000);
    await delay(30);
    clearTimeout(r);
    process.off("warning", onW);
    assert.equal(raw, true, "Node no longer clamps long timers: the helper's reason is gone");
  });
});

const Hold = defineContract("Hold", {
  who: unary<Record<string, never>, { label: string }>(),
  hold: bidiStream<{ text: string }, { label: string }>(),
});

function holder(label: string) {
  return implement(Hold, {
    who: async () => ({ label }),
    async *hold(_ctx, reqs) {
      yield { label };
      for await (const _ of reqs) {
        /* until the client half-closes */
      }
    },
  });
}

describe("one attempt for calls and streams", () => {
  const f = fixture();
  after(() => f.close());

  it("least-in-flight counts an open stream against its node", async () => {
    await f.start("lifs", [holder("a")]);
    await f.start("lifs", [holder("b")]);
    const client = f.client({ retries: 0 });
    const select = { strategy: leastInflight() };
    const stream = await within(
      client.stream(background(), newRequest("lifs", "Hold.hold", undefined), { select }),
      5000,
      "the stream to open",
    );
    const first = (await within(stream.recv(), 5000, "the stream's first message")) as { label: string };
    const busy = first.label;
    const labels: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await client.call<{ label: string }>(background(), newRequest("lifs", "Hold.who", {}), {
        select,
      });
      labels.push(r.label);
    }
    stream.closeSend();
    await within(stream.finished, 5000, "the stream to end");
    assert.deepEqual(
      labels.filter((l) => l === busy),
      [],
      `calls went to the node busy with a stream (${busy}): ${labels.join(",")}`,
    );
  });

  it("a stream's phases (selecting, dialing, streaming) show in the stall doctor, each timed from its start", async () => {
    await f.start("phases", [holder("p")]);
    const selectGate = gate();
    const dialGate = gate();
    const inner = createSelector({ registry: f.registry });
    const selector: Selector = {
      select: async (s, o) => {
        await selectGate.wait;
        return inner.select(s, o);
      },
      mark: (s, n, e) => inner.mark(s, n, e),
      started: (s, n) => inner.started?.(s, n),
      finished: (s, n) => inner.finished?.(s, n),
      close: () => inner.close(),
    };
    const tcp = createTcpTransport();
    const transport: Transport = {
      name: tcp.name,
      dial: async (a, o) => {
        await dialGate.wait;
        return tcp.dial(a, o);
      },
      listen: (a, h, s) => tcp.listen(a, h, s),
    };
    const reports: string[] = [];
    const client: Client = f.client({
      selector,
      transport,
      watchdog: { thresholdMs: 150, intervalMs: 10, log: (m) => reports.push(m) },
    });
    const phaseOf = () => client.inflight().find((c) => c.service === "phases");
    const opening = client.stream(background(), newRequest("phases", "Hold.hold", undefined));
    await waitFor("the stream selecting", 5000, async () =>
      phaseOf()?.phase === "selecting" ? true : undefined,
    );
    await delay(100);
    selectGate.open();
    await waitFor("the stream dialing", 5000, async () =>
      phaseOf()?.phase === "dialing" ? true : undefined,
    );
    await delay(100);
    dialGate.open();
    const stream = await within(opening, 5000, "the stream to open");
    const c = phaseOf();
    assert.equal(c?.phase, "streaming");
    assert.ok(c!.ageMs >= 200, `age ${c!.ageMs} ms`);
    assert.ok(c!.phaseAgeMs < c!.ageMs - 150, `streaming for ${c!.phaseAgeMs} ms of ${c!.ageMs} ms`);
    await delay(60);
    assert.deepEqual(
      reports.filter((r) => r.includes("been streaming")),
      [],
      "a stream that just started streaming was reported stuck",
    );
    stream.closeSend();
    await within(stream.finished, 5000, "the stream to end");
  });

  it("a stream whose first message cannot be encoded is refused with 400 and leaves nothing open", async () => {
    await f.start("refused", [holder("r")]);
    const client = f.client();
    const e: MicroError = await rejection(
      client.stream(background(), newRequest("refused", "Hold.hold", { text: 1n })),
      5000,
      "the stream to be refused",
    );
    assert.equal(e.code, 400);
    assert.match(e.detail, /cannot encode/);
    assert.equal(client.inflight().length, 0);
    await within(client.close(), 3000, "client.close() after a refused stream");
  });
});

describe("dotted service names (go.micro.srv.greeter)", () => {
  const f = fixture();
  after(() => f.close());
  const NAME = "go.micro.srv.greeter";
  const Greeter = defineContract("greeter.v1.Greeter", {
    hello: unary({ request: z.object({ name: z.string() }), response: z.object({ msg: z.string() }) }),
  });

  it("cycle detection, error id, contract errors and per-endpoint limits all see the whole name", async () => {
    const innerGate = gate();
    let deadlineId: string | undefined;
    let svcClient: Client | undefined;
    class Loop {
      async outer(ctx: Context) {
        return svcClient!.call(ctx, newRequest(NAME, "Loop.inner", {}));
      }
      async inner() {
        await innerGate.wait;
        return {};
      }
      async expire(ctx: Context) {
        await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
        deadlineId = (ctx.signal.reason as MicroError).id;
        throw ctx.signal.reason;
      }
      async busy() {
        await innerGate.wait;
        return {};
      }
    }
    const svc = await f.start(NAME, [new Loop()], {
      limits: { maxConcurrent: 10, endpoints: { "Loop.busy": { maxConcurrent: 1, maxQueue: 0 } } },
    });
    svc.handle(implement(Greeter, { hello: async (_ctx, req) => ({ msg: `hi ${req.name}` }) }));
    svcClient = svc.client;
    const client = f.client({ retries: 0 });

    // Cycle: outer calls back into the same service.
    const looping = client.call(background(), newRequest(NAME, "Loop.outer", {}));
    const innerCall = await waitFor("the nested call in flight", 5000, async () =>
      svc.inflight().find((c) => c.endpoint === "Loop.inner"),
    );
    assert.equal(innerCall.cycle, true, `chain ${innerCall.chain.join(" -> ")} re-enters ${NAME}`);

    // Per-endpoint limit: one busy call at a time, named with the whole service name.
    const busy = client.call(background(), newRequest(NAME, "Loop.busy", {}));
    await waitFor("the busy call in flight", 5000, async () =>
      svc.inflight().find((c) => c.endpoint === "Loop.busy"),
    );
    const full: MicroError = await rejection(client.call(background(), newRequest(NAME, "Loop.busy", {})));
    assert.equal(full.code, 503);
    assert.equal(full.id, NAME);
    assert.match(full.detail, /endpoint go\.micro\.srv\.greeter\.Loop\.busy/);
    innerGate.open();
    await within(Promise.all([looping, busy]), 5000, "the held calls");

    // The handler's deadline error names the service, dots and all.
    await rejection(
      client.call(background(), newRequest(NAME, "Loop.expire", {}), { requestTimeoutMs: 100 }),
    );
    await waitFor("the handler's deadline", 5000, async () => deadlineId);
    assert.equal(deadlineId, NAME);

    // A contract's validation error is raised by the service, not the contract.
    const bad: MicroError = await rejection(
      client.call(background(), newRequest(NAME, "greeter.v1.Greeter.hello", { name: 42 })),
    );
    assert.equal(bad.code, 400);
    assert.equal(bad.id, NAME);
  });
});
