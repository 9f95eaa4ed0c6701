// The lifecycle fuzzer's operations, as fast-check commands over a small model (which slots
// run a service, how started). Operations that take time (start, stop, calls, streams,
// publishes, closes) are started and tracked, not awaited, so later steps overlap them: a call
// in flight across stop(), init() or close() is the point.
import fc from "fast-check";
import { type CallWrapper, defaultBackoff } from "../../src/client/options.js";
import { newMessage } from "../../src/client/publish.js";
import { newRequest } from "../../src/client/request.js";
import { defaultCodecs } from "../../src/codec/index.js";
import { background, type Context, withCancel, withTimeout } from "../../src/context.js";
import { createSelector } from "../../src/selector/selector.js";
import { leastInflight, random, roundRobin } from "../../src/selector/strategy.js";
import { createTcpTransport } from "../../src/transport/tcp.js";
import { CLOSE_BOUND_MS, SERVICE, type World } from "./world.js";

export interface Model {
  /** Per slot: is a service started (or starting) there, and was it through run()? */
  slots: { up: boolean; viaRun: boolean }[];
  subs: number;
  extraNodes: number;
}

export const initialModel = (): Model => ({
  slots: [
    { up: false, viaRun: false },
    { up: false, viaRun: false },
  ],
  subs: 0,
  extraNodes: 0,
});

type Cmd = fc.AsyncCommand<Model, World, false>;

/** A deadline in ms, or undefined for none (then the client's options bound the call). */
export const deadlineArb = fc.option(
  fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 21, max: 1500 })),
  {
    nil: undefined,
  },
);
const cancelArb = fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined });
const TOPICS = ["fz.a", "fz.b"] as const;

/** A context with the deadline and a caller cancellation after `cancelAfterMs`; `done` clears the timer. */
function callerContext(deadline: number | undefined, cancelAfterMs: number | undefined) {
  let ctx: Context = background();
  if (deadline !== undefined) ctx = withTimeout(ctx, deadline);
  const [c, cancel] = withCancel(ctx);
  const timer =
    cancelAfterMs === undefined
      ? undefined
      : setTimeout(() => cancel("cancelled by the caller"), cancelAfterMs);
  return {
    ctx: c,
    done: () => {
      clearTimeout(timer);
      cancel();
    },
  };
}

function bound(w: World, deadline: number | undefined, cancelAfterMs: number | undefined): number {
  const b = Math.min(deadline ?? Infinity, w.callBoundMs());
  return cancelAfterMs === undefined ? b : Math.min(b, cancelAfterMs + 50);
}

export class Start implements Cmd {
  constructor(
    readonly slot: number,
    readonly viaRun: boolean,
    readonly topic: (typeof TOPICS)[number] | undefined,
    readonly wait: boolean,
  ) {}
  check = (m: Readonly<Model>) => !m.slots[this.slot]!.up;
  async run(m: Model, w: World) {
    m.slots[this.slot] = { up: true, viaRun: this.viaRun };
    const svc = w.newService(this.slot, this.topic);
    if (this.viaRun) {
      const running = svc.run({ exitProcess: false });
      w.slots[this.slot]!.running = running;
      // run() settles only after the signal; its start is tracked through it.
      running.catch(() => {});
      if (this.wait) await w.until(() => w.isUp(svc), CLOSE_BOUND_MS);
    } else {
      const p = w.track(`service ${this.slot} start()`, svc.start(), CLOSE_BOUND_MS);
      if (this.wait) await w.until(() => w.isUp(svc), CLOSE_BOUND_MS, p);
    }
  }
  toString = () =>
    `start(${this.slot}${this.viaRun ? ", run" : ""}${this.topic ? `, sub ${this.topic}` : ""}${this.wait ? ", awaited" : ""})`;
}

class Stop implements Cmd {
  constructor(readonly slot: number) {}
  check = (m: Readonly<Model>) => m.slots[this.slot]!.up;
  async run(m: Model, w: World) {
    if (m.slots[this.slot]!.viaRun) {
      // The signal stops every service started with run().
      w.signal();
      for (const s of m.slots) if (s.viaRun) s.up = false;
    } else {
      w.track(`service ${this.slot} stop()`, w.slots[this.slot]!.service!.stop(), CLOSE_BOUND_MS);
      m.slots[this.slot]!.up = false;
    }
  }
  toString = () => `stop(${this.slot})`;
}

type InitChoice =
  | { requestTimeoutMs: number }
  | { retries: number }
  | { poolSize: number }
  | { poolTtlMs: number }
  | { dialTimeoutMs: number }
  | { contentType: string }
  | { trackInflight: boolean }
  | { selector: "round robin" | "random" | "least in flight" | "default" }
  | { registry: "local" | "memory" }
  | { watchdog: number | undefined }
  | { wrappers: number }
  | { maxCallDepth: number }
  | { backoff: "none" | "default" }
  | { transport: "new tcp" }
  | { codecs: "new default" }
  | { broker: "http" | "memory" };

const initArb: fc.Arbitrary<InitChoice> = fc.oneof(
  fc.record({ requestTimeoutMs: fc.constantFrom(50, 300, 1000, 2000) }),
  fc.record({ retries: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ poolSize: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ poolTtlMs: fc.constantFrom(0, 30, 1000) }),
  fc.record({ dialTimeoutMs: fc.constantFrom(100, 500) }),
  fc.record({ contentType: fc.constantFrom("application/json", "application/msgpack") }),
  fc.record({ trackInflight: fc.boolean() }),
  fc.record({ selector: fc.constantFrom("round robin", "random", "least in flight", "default") }),
  fc.record({ registry: fc.constantFrom("local", "memory") }),
  fc.record({ watchdog: fc.option(fc.constantFrom(20, 200), { nil: undefined }) }),
  fc.record({ wrappers: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ maxCallDepth: fc.constantFrom(1, 16) }),
  fc.record({ backoff: fc.constantFrom<"none" | "default">("none", "default") }),
  fc.record({ transport: fc.constant<"new tcp">("new tcp") }),
  fc.record({ codecs: fc.constant<"new default">("new default") }),
  fc.record({ broker: fc.constantFrom<"http" | "memory">("http", "memory") }),
);

class Init implements Cmd {
  constructor(readonly choice: InitChoice) {}
  check = () => true;
  async run(_m: Model, w: World) {
    const c = this.choice;
    if ("selector" in c) {
      if (c.selector === "default") {
        w.client.init({ selector: undefined });
        return;
      }
      const strategy =
        c.selector === "random" ? random : c.selector === "round robin" ? roundRobin() : leastInflight();
      const s = createSelector({ registry: w.client.options().registry, strategy, ejectMs: 50 });
      w.selectors.push(s);
      w.client.init({ selector: s });
    } else if ("registry" in c) {
      w.client.init({ registry: c.registry === "local" ? w.local : w.memory });
    } else if ("watchdog" in c) {
      // The watchdog's interval must stop with close() (the leak check sees it otherwise).
      w.client.init({
        watchdog: c.watchdog === undefined ? undefined : { thresholdMs: c.watchdog, log: () => {} },
      });
    } else if ("wrappers" in c) {
      const pass: CallWrapper = (next) => (ctx, req, opts) => next(ctx, req, opts);
      w.client.init({ wrappers: Array.from({ length: c.wrappers }, () => pass) });
    } else if ("backoff" in c) {
      w.client.init({ backoff: c.backoff === "none" ? () => 0 : defaultBackoff });
    } else if ("transport" in c) {
      w.client.init({ transport: createTcpTransport() }); // a new pool; the old one drains
    } else if ("codecs" in c) {
      w.client.init({ codecs: defaultCodecs() });
    } else if ("broker" in c) {
      w.client.init({ broker: c.broker === "http" ? w.broker : w.memoryBroker });
    } else {
      w.client.init(c);
    }
  }
  toString = () => `init(${JSON.stringify(this.choice)})`;
}

class Close implements Cmd {
  constructor(readonly replace: boolean) {}
  check = () => true;
  async run(_m: Model, w: World) {
    const old = w.client;
    w.track("client.close()", old.close(), CLOSE_BOUND_MS);
    // Else later steps use the closed client (calls after close() work, holding nothing).
    if (this.replace) w.client = w.newClient(old.options().registry);
  }
  toString = () => `close(${this.replace ? "then a new client" : "keep using it"})`;
}

class Call implements Cmd {
  constructor(
    readonly deadline: number | undefined,
    readonly cancelAfterMs: number | undefined,
    readonly ms: number,
  ) {}
  check = () => true;
  async run(_m: Model, w: World) {
    const { ctx, done } = callerContext(this.deadline, this.cancelAfterMs);
    const p = w.client.call(ctx, newRequest(SERVICE, "Fz.echo", { ms: this.ms, n: 1 })).finally(done);
    w.track(`${this}`, p, bound(w, this.deadline, this.cancelAfterMs));
  }
  toString = () =>
    `call(deadline ${this.deadline ?? "none"}, cancel ${this.cancelAfterMs ?? "no"}, ${this.ms} ms)`;
}

type StreamMode = "full" | "break" | "encode-failure" | "no-close-send";

class StreamCmd implements Cmd {
  constructor(
    readonly mode: StreamMode,
    readonly n: number,
    readonly deadline: number | undefined,
    readonly cancelAfterMs: number | undefined,
  ) {}
  check = () => true;
  async run(_m: Model, w: World) {
    const { ctx, done } = callerContext(this.deadline, this.cancelAfterMs);
    const work = async () => {
      const first = this.mode === "encode-failure" ? { i: 1n } : { i: 0 };
      const s = await w.client.stream<{ i: number | bigint }, { i: number }>(
        ctx,
        newRequest(SERVICE, "Fz.chat", first),
      );
      try {
        for (let i = 1; i < this.n; i++) await s.send({ i });
        if (this.mode !== "no-close-send") s.closeSend();
        let got = 0;
        for await (const _ of s) {
          got++;
          if (this.mode === "break" || (this.mode === "no-close-send" && got === this.n)) break;
        }
      } finally {
        s.close("done");
      }
    };
    w.track(`${this}`, work().finally(done), bound(w, this.deadline, this.cancelAfterMs));
  }
  toString = () =>
    `stream(${this.mode}, ${this.n} msg, deadline ${this.deadline ?? "none"}, cancel ${this.cancelAfterMs ?? "no"})`;
}

class Publish implements Cmd {
  constructor(
    readonly topic: (typeof TOPICS)[number],
    readonly deadline: number | undefined,
  ) {}
  check = () => true;
  async run(_m: Model, w: World) {
    const { ctx, done } = callerContext(this.deadline, undefined);
    const p = w.client.publish(ctx, newMessage(this.topic, { at: Date.now() })).finally(done);
    // The http broker bounds a publish by its own timeout (5 s) when the context has no deadline.
    w.track(`${this}`, p, Math.min(this.deadline ?? Infinity, 5000));
  }
  toString = () => `publish(${this.topic}, deadline ${this.deadline ?? "none"})`;
}

class Subscribe implements Cmd {
  constructor(readonly topic: (typeof TOPICS)[number]) {}
  check = (m: Readonly<Model>) => m.subs < 3;
  async run(m: Model, w: World) {
    m.subs++;
    const p = w.broker
      .subscribe(this.topic, () => {})
      .then((s) => {
        w.subs.push(s);
        return s;
      });
    w.track(`${this}`, p, CLOSE_BOUND_MS);
    await p.catch(() => {}); // unsubscribe needs it; a failure is judged by the tracker
  }
  toString = () => `subscribe(${this.topic})`;
}

class Unsubscribe implements Cmd {
  check = (m: Readonly<Model>) => m.subs > 0;
  async run(m: Model, w: World) {
    m.subs--;
    const s = w.subs.shift();
    if (s !== undefined) w.track("unsubscribe()", s.unsubscribe(), CLOSE_BOUND_MS);
  }
  toString = () => "unsubscribe()";
}

class RegistryAdd implements Cmd {
  constructor(readonly live: boolean) {}
  check = (m: Readonly<Model>) => m.extraNodes < 4;
  async run(m: Model, w: World) {
    const id = `extra-${m.extraNodes++}`;
    const running = w.slots.find((s) => s.service !== undefined)?.service;
    let address = "127.0.0.1:9"; // discard port: refused on loopback
    if (this.live && running !== undefined) {
      try {
        address = running.address;
      } catch {
        // not listening (yet or any more): a dead node then
      }
    }
    const rec = {
      name: SERVICE,
      version: "latest",
      metadata: {},
      endpoints: [],
      nodes: [{ id, address, metadata: {} }],
    };
    w.extra.push(rec);
    w.track(`${this}`, w.local.register(rec, { ttlMs: 2000 }), CLOSE_BOUND_MS);
  }
  toString = () => `registry add(${this.live ? "live" : "dead"} node)`;
}

class RegistryRemove implements Cmd {
  check = (m: Readonly<Model>) => m.extraNodes > 0;
  async run(m: Model, w: World) {
    m.extraNodes--;
    const rec = w.extra.shift();
    if (rec !== undefined) w.track(`${this}`, w.local.deregister(rec), CLOSE_BOUND_MS);
  }
  toString = () => "registry remove(node)";
}

/** The other process starts or stops its fz service in this world's registry. */
class PeerCmd implements Cmd {
  constructor(readonly up: boolean) {}
  check = () => true;
  async run(_m: Model, w: World) {
    if (w.peer === undefined) return;
    const p = this.up ? w.peer.start(w.leases) : w.peer.stop();
    // A peer that fails to start rejects with an Error naming why (not a MicroError over IPC).
    w.track(`peer ${this.up ? "start" : "stop"}`, p, CLOSE_BOUND_MS, true);
    await p.catch(() => {}); // requests to the peer are ordered: one at a time
  }
  toString = () => `peer ${this.up ? "start" : "stop"}`;
}

/** A pause, so that tracked operations progress between steps. */
class Wait implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run() {
    await new Promise((r) => setTimeout(r, this.ms));
  }
  toString = () => `wait(${this.ms})`;
}

const slotArb = fc.integer({ min: 0, max: 1 });

const startArb = fc
  .tuple(slotArb, fc.boolean(), fc.option(fc.constantFrom(...TOPICS), { nil: undefined }), fc.boolean())
  .map(([s, r, t, wait]) => new Start(s, r, t, wait));
const callArb = fc
  .tuple(deadlineArb, cancelArb, fc.integer({ min: 0, max: 60 }))
  .map(([d, c, ms]) => new Call(d, c, ms));
const streamArb = fc
  .tuple(
    fc.constantFrom<StreamMode>("full", "break", "encode-failure", "no-close-send"),
    fc.integer({ min: 1, max: 4 }),
    deadlineArb,
    cancelArb,
  )
  .map(([mode, n, d, c]) => new StreamCmd(mode, n, d, c));

/** Listed more than once: drawn more often (starts, calls and streams are what lifecycles race). */
export const commandArbs: fc.Arbitrary<Cmd>[] = [
  startArb,
  startArb,
  callArb,
  callArb,
  callArb,
  streamArb,
  streamArb,
  slotArb.map((s) => new Stop(s)),
  initArb.map((c) => new Init(c)),
  fc.boolean().map((r) => new Close(r)),
  fc.tuple(fc.constantFrom(...TOPICS), deadlineArb).map(([t, d]) => new Publish(t, d)),
  fc.constantFrom(...TOPICS).map((t) => new Subscribe(t)),
  fc.constant(new Unsubscribe()),
  fc.boolean().map((live) => new RegistryAdd(live)),
  fc.constant(new RegistryRemove()),
  fc.integer({ min: 1, max: 80 }).map((ms) => new Wait(ms)),
  fc.boolean().map((up) => new PeerCmd(up)),
];
