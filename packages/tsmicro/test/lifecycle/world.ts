// The lifecycle fuzzer's world: real services on real TCP sockets, a local registry in its own
// directory (fs.watch and poll), a memory registry to swap to, an http broker, one client at a
// time. Every operation is tracked with its bound (its deadline plus SETTLE_SLACK_MS); `check()`
// after each step reports operations that settled wrongly or not in time, and unhandled
// rejections; `teardown()` closes everything and compares the process's active resources with
// the baseline taken before the world was built.
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Broker, Subscriber } from "../../src/broker/broker.js";
import { createHttpBroker } from "../../src/broker/http.js";
import { createMemoryBroker } from "../../src/broker/memory.js";
import { type Client, newClient } from "../../src/client/client.js";
import type { Context } from "../../src/context.js";
import { bidiStream, defineContract, unary } from "../../src/contract/contract.js";
import { implement } from "../../src/contract/implement.js";
import { isMicroError } from "../../src/errors.js";
import { createLocalRegistry } from "../../src/registry/local.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import type { Registry, Service } from "../../src/registry/registry.js";
import type { Selector } from "../../src/selector/selector.js";
import { type MicroService, newService } from "../../src/service/service.js";
import { emitSignal } from "../helpers.js";

/** Slack over an operation's own bound (deadline, or what the client options allow). */
export const SETTLE_SLACK_MS = 1000;
/** Bound on each close/stop in the teardown. */
export const CLOSE_BOUND_MS = 4000;

export type Variant = "correct" | "leaked-timer" | "leaked-socket" | "close-never-resolves";

export const SERVICE = "fz";
export const Fz = defineContract("Fz", {
  echo: unary<{ ms: number; n?: number }, { n: number }>(),
  chat: bidiStream<{ i: number | bigint }, { i: number }>(),
});

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/** The fz service's handlers: echo after `ms` (cut short by cancellation), chat echoes each message. */
export function fzHandler() {
  return implement(Fz, {
    echo: async (ctx: Context, req) => {
      await sleep(req.ms, ctx.signal);
      return { n: req.n ?? 0 };
    },
    async *chat(_ctx, reqs) {
      for await (const r of reqs) yield { i: Number(r.i) };
    },
  });
}

/** The peer process (peer.ts), shared by the cases of one run; its IPC channel is in every baseline. */
export class Peer {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (reply: { ok: boolean; error?: string }) => void>();
  #next = 1;
  readonly ready: Promise<void>;

  constructor() {
    this.#child = fork(new URL("./peer.ts", import.meta.url), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#waiting.set(0, () => resolve());
      this.#child.once("exit", (code) =>
        reject(new Error(`the lifecycle peer exited (${code}) before it was ready`)),
      );
    });
    this.#child.on("message", (m: { id: number; ok: boolean; error?: string }) => {
      this.#waiting.get(m.id)?.(m);
      this.#waiting.delete(m.id);
    });
  }

  /** Starts (or restarts) the peer's service in `dir`; rejects with the peer's error. */
  start(dir: string): Promise<void> {
    return this.#ask({ op: "start", dir });
  }

  stop(): Promise<void> {
    return this.#ask({ op: "stop" });
  }

  #ask(req: { op: "start" | "stop"; dir?: string }): Promise<void> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, (r) => (r.ok ? resolve() : reject(new Error(`peer ${req.op}: ${r.error}`))));
      this.#child.send({ id, ...req });
    });
  }

  close(): void {
    this.#child.kill("SIGKILL");
  }
}

interface Tracked {
  what: string;
  started: number;
  boundMs: number;
  settled: boolean;
  overdue?: boolean;
}

export interface Slot {
  service: MicroService | undefined;
  /** The promise of `run()` when the service was started that way (a signal stops it). */
  running: Promise<void> | undefined;
}

/** Outcomes across all worlds of a run, by operation kind: shows the fuzzer exercises each. */
export const outcomes = new Map<string, number>();

function count(what: string, outcome: string): void {
  const key = `${what.replace(/\(.*$/, "").replace(/ \d+/, "")} → ${outcome}`;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

export function outcomeReport(): string {
  return [...outcomes]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `  ${k}: ${n}`)
    .join("\n");
}

export class World {
  readonly variant: Variant;
  readonly dir = mkdtempSync(join(tmpdir(), "tsmicro-lifecycle-"));
  readonly leases = join(this.dir, "leases");
  readonly local: Registry;
  readonly memory: Registry = createMemoryRegistry();
  readonly broker: Broker;
  /** The broker an init() may swap the client to. */
  readonly memoryBroker: Broker = createMemoryBroker({ onError: () => {} });
  readonly slots: Slot[] = [
    { service: undefined, running: undefined },
    { service: undefined, running: undefined },
  ];
  client: Client;
  readonly clients: Client[] = [];
  readonly selectors: Selector[] = [];
  readonly subs: Subscriber[] = [];
  /** Nodes added to the local registry by the fuzzer (removed again, or expiring). */
  readonly extra: Service[] = [];
  readonly violations: string[] = [];
  readonly #ops = new Set<Tracked>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #unhandled: unknown[] = [];
  readonly #onUnhandled = (reason: unknown) => void this.#unhandled.push(reason);
  readonly #lag = monitorEventLoopDelay({ resolution: 20 });
  readonly #baseline: Map<string, number>;
  #leakedTimer: NodeJS.Timeout | undefined;
  #leakedSocket: Socket | undefined;
  readonly log: string[] = [];

  /** The other process, when the run has one. */
  readonly peer: Peer | undefined;

  constructor(variant: Variant, peer?: Peer) {
    this.variant = variant;
    this.peer = peer;
    this.#baseline = activeResources();
    process.on("unhandledRejection", this.#onUnhandled);
    this.#lag.enable();
    this.local = createLocalRegistry({ dir: this.leases, pollMs: 100 });
    this.broker = createHttpBroker({ registry: this.local, onError: () => {} });
    this.client = this.newClient(this.local);
    if (variant === "leaked-timer") this.#leakedTimer = setTimeout(() => {}, 600_000);
    if (variant === "leaked-socket") {
      // A socket nobody closes, to the shared NATS server (any loopback listener would do).
      this.#leakedSocket = connect({ host: "127.0.0.1", port: 4222 });
      this.#leakedSocket.on("error", () => {});
    }
  }

  newClient(registry: Registry): Client {
    const c = newClient({
      registry,
      broker: this.broker,
      requestTimeoutMs: 1000,
      dialTimeoutMs: 500,
      retries: 1,
    });
    this.clients.push(c);
    return c;
  }

  /** A fresh service instance for a slot; `topic` adds a subscriber. */
  newService(slot: number, topic: string | undefined): MicroService {
    const svc = newService({
      name: SERVICE,
      registry: this.local,
      broker: this.broker,
      registerIntervalMs: 200,
      registerTtlMs: 2000,
      drainTimeoutMs: 300,
    });
    svc.handle(fzHandler());
    if (topic !== undefined) svc.subscribe(topic, () => {});
    this.slots[slot]!.service = svc;
    this.slots[slot]!.running = undefined;
    return svc;
  }

  /** Whether `svc` is listening (started, not stopped). */
  isUp(svc: MicroService): boolean {
    try {
      void svc.address;
      return true;
    } catch {
      return false;
    }
  }

  /** Waits until `done()` or `settled` settles, at most `ms` (the tracker judges the operation). */
  async until(done: () => boolean, ms: number, settled?: Promise<unknown>): Promise<void> {
    const end = Date.now() + ms;
    let over = false;
    void settled?.then(() => {
      over = true;
    });
    while (!done() && !over && Date.now() < end) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise((r) => {
        timer = setTimeout(r, 5);
      });
      clearTimeout(timer);
    }
  }

  /** run()-style shutdown: SIGTERM reaches every service started with run(). */
  signal(): void {
    emitSignal("SIGTERM");
    for (const [i, s] of this.slots.entries()) {
      if (s.running === undefined) continue;
      this.track(`service ${i} run() after SIGTERM`, s.running, CLOSE_BOUND_MS);
      s.running = undefined;
    }
  }

  /** The bound of a call without a context deadline, from the client's current options. */
  callBoundMs(): number {
    const o = this.client.options();
    const attempts = o.retries + 1;
    return attempts * (o.requestTimeoutMs + o.dialTimeoutMs) + o.retries * 1000;
  }

  /**
   * Tracks `p`: it must settle within `boundMs` (+ slack) with a value or a MicroError
   * (`plainOk`: an Error is fine too, for operations documented to throw one).
   */
  track(what: string, p: Promise<unknown>, boundMs: number, plainOk = false): Promise<unknown> {
    const op: Tracked = { what, started: Date.now(), boundMs, settled: false };
    this.#ops.add(op);
    const done = p.then(
      (v) => {
        op.settled = true;
        this.#late(op);
        count(what, "ok");
        return v;
      },
      (e: unknown) => {
        op.settled = true;
        this.#late(op);
        count(what, isMicroError(e) ? String(e.code) : "Error");
        if (!isMicroError(e) && !(plainOk && e instanceof Error)) {
          this.violations.push(`settle: ${what} rejected with a non-MicroError: ${String(e)}`);
        }
        return e;
      },
    );
    this.#pending.add(done);
    void done.finally(() => {
      this.#pending.delete(done);
      this.#ops.delete(op);
    });
    return done;
  }

  #late(op: Tracked): void {
    const took = Date.now() - op.started;
    if (took > op.boundMs + this.slackMs()) {
      this.violations.push(`settle: ${op.what} took ${took} ms, bound ${op.boundMs} + ${this.slackMs()} ms`);
    }
  }

  /** The stated slack plus what the event loop lagged (a timer cannot fire sooner). */
  slackMs(): number {
    return SETTLE_SLACK_MS + Math.round(this.#lag.max / 1e6);
  }

  /** Marks overdue operations and collects unhandled rejections, without throwing. */
  #scan(): void {
    const now = Date.now();
    for (const op of this.#ops) {
      if (!op.settled && !op.overdue && now - op.started > op.boundMs + this.slackMs()) {
        this.violations.push(`settle: ${op.what} did not settle within ${op.boundMs} + ${this.slackMs()} ms`);
        op.overdue = true; // reported once, and no longer waited for
      }
    }
    for (const r of this.#unhandled.splice(0)) this.violations.push(`unhandled rejection: ${String(r)}`);
  }

  /** After each step: nothing overdue, nothing settled wrongly, no unhandled rejection. */
  check(): void {
    this.#scan();
    if (this.violations.length > 0) throw new Error(this.violations.join("\n"));
  }

  /** Waits for every tracked operation, each within its own bound (overdue ones are reported, not awaited). */
  async settleAll(): Promise<void> {
    for (;;) {
      this.#scan();
      const waiting = [...this.#ops].filter((op) => !op.settled && !op.overdue);
      if (waiting.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.race(this.#pending),
        new Promise((r) => {
          timer = setTimeout(r, 50);
        }),
      ]);
      clearTimeout(timer); // the harness leaves no timer of its own for the leak check
    }
  }

  /** Stops and closes everything the world opened (each bounded), then checks resources. */
  async teardown(): Promise<void> {
    try {
      await this.settleAll();
      // Services started by run() stop on the signal, as in production.
      if (this.slots.some((s) => s.running !== undefined)) this.signal();
      for (const [i, s] of this.slots.entries()) {
        if (s.service !== undefined)
          this.track(`teardown: service ${i} stop()`, s.service.stop(), CLOSE_BOUND_MS);
      }
      for (const sub of this.subs.splice(0))
        this.track("teardown: unsubscribe()", sub.unsubscribe(), CLOSE_BOUND_MS);
      if (this.peer !== undefined) this.track("teardown: peer stop", this.peer.stop(), CLOSE_BOUND_MS, true);
      await this.settleAll();
      for (const c of this.clients) {
        const closing =
          this.variant === "close-never-resolves" && c === this.client
            ? new Promise<void>(() => {})
            : c.close();
        this.track("teardown: client.close()", closing, CLOSE_BOUND_MS);
      }
      await this.settleAll();
      for (const s of this.selectors) s.close();
      this.track("teardown: broker.disconnect()", this.broker.disconnect(), CLOSE_BOUND_MS);
      this.track("teardown: memory broker disconnect()", this.memoryBroker.disconnect(), CLOSE_BOUND_MS);
      this.track("teardown: local registry close()", this.local.close(), CLOSE_BOUND_MS);
      this.track("teardown: memory registry close()", this.memory.close(), CLOSE_BOUND_MS);
      await this.settleAll();
      const left = await leftOver(this.#baseline, 2000);
      for (const l of left) this.violations.push(`leaks: ${l} left open`);
    } finally {
      process.off("unhandledRejection", this.#onUnhandled);
      this.#lag.disable();
      clearTimeout(this.#leakedTimer);
      this.#leakedSocket?.destroy();
      rmSync(this.dir, { recursive: true, force: true });
    }
    this.check();
  }
}

/** Counts of the process's active resources, by kind. */
export function activeResources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

/** Waits up to `ms` for every count to fall back to `baseline`; returns what is still above. */
export async function leftOver(baseline: Map<string, number>, ms: number): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const over: string[] = [];
    for (const [k, n] of activeResources()) {
      const extra = n - (baseline.get(k) ?? 0);
      if (extra > 0) over.push(`${extra} × ${k}`);
    }
    if (over.length === 0 || Date.now() >= end) return over;
    await new Promise((r) => setTimeout(r, 20));
  }
}
