// Hosts chaos services in one process: starts them, storms the shared client with init(),
// and afterwards reports what was left behind (in-flight entries, held slots).
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Client } from "../../src/client/client.js";
import { newClient } from "../../src/client/client.js";
import type { CallWrapper } from "../../src/client/options.js";
import type { Context } from "../../src/context.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import { type Bulkhead, createBulkhead } from "../../src/server/bulkhead.js";
import { type MicroService, newService } from "../../src/service/service.js";
import { createNodeHandler, serviceName } from "./node-service.js";
import type { ServiceSpec, StormOp } from "./plan.js";

/** Deliberately wrong variants, for the negative controls. */
export type VariantName = "correct" | "lock-across-call" | "slot-held-by-cancelled" | "leaky-wrapper";

export interface SlotRecord {
  service: string;
  deadline: number | undefined;
  releasedAt: number | undefined;
}

export interface HostReport {
  clientInflight: number;
  serverInflight: number;
  slotsHeld: number;
  /** Slots released later than their request's deadline plus the slack. */
  lateSlots: string[];
}

/** A model of go-micro's client lock: read-held across the call, write-held by init(). */
export function createLockModel() {
  let readers = 0;
  let writer = false;
  const writers: (() => void)[] = [];
  const readersWaiting: (() => void)[] = [];
  const wake = () => {
    if (!writer && readers === 0 && writers.length > 0) {
      writer = true;
      writers.shift()!();
    } else if (!writer && writers.length === 0) {
      while (readersWaiting.length > 0) {
        readers++;
        readersWaiting.shift()!();
      }
    }
  };
  const wrapper: CallWrapper = (next) => async (ctx, req, opts) => {
    await new Promise<void>((resolve) => {
      if (!writer && writers.length === 0) {
        readers++;
        resolve();
      } else readersWaiting.push(resolve);
    });
    try {
      return await next(ctx, req, opts);
    } finally {
      readers--;
      wake();
    }
  };
  const init = async (client: Client, op: Partial<StormOp>) => {
    await new Promise<void>((resolve) => {
      writers.push(resolve);
      wake();
    });
    try {
      client.init(op);
    } finally {
      writer = false;
      wake();
    }
  };
  return { wrapper, init };
}

/** A wrapper that leaks a timer for every call that does not succeed (it forgets its entry). */
function leakyWrapper(pending: Map<number, NodeJS.Timeout>): CallWrapper {
  let id = 0;
  return (next) => async (ctx, req, opts) => {
    const mine = id++;
    pending.set(
      mine,
      setTimeout(() => pending.delete(mine), 60_000),
    );
    const r = await next(ctx, req, opts);
    clearTimeout(pending.get(mine));
    pending.delete(mine);
    return r;
  };
}

export const SLOT_SLACK_MS = 150;

export class Host {
  readonly client: Client;
  readonly #services: MicroService[] = [];
  readonly #slots: SlotRecord[] = [];
  readonly #bulkheads: Bulkhead[] = [];
  readonly #done = new WeakSet<Context>();
  readonly #variant: VariantName;
  readonly #lock = createLockModel();
  readonly #leaked = new Map<number, NodeJS.Timeout>();
  readonly #loopDelay = monitorEventLoopDelay({ resolution: 5 });
  #storming = false;
  #storm: Promise<void> | undefined;

  constructor(variant: VariantName, poolSize: number, requestTimeoutMs: number) {
    this.#variant = variant;
    this.#loopDelay.enable();
    const wrappers: CallWrapper[] = [];
    if (variant === "lock-across-call") wrappers.push(this.#lock.wrapper);
    if (variant === "leaky-wrapper") wrappers.push(leakyWrapper(this.#leaked));
    this.client = newClient({
      registry: createMemoryRegistry(),
      poolSize,
      requestTimeoutMs,
      retries: 1,
      wrappers,
    });
  }

  /** Starts the services whose index is in `which`; returns their addresses by index. */
  async start(specs: ServiceSpec[], which: number[]): Promise<Record<number, string>> {
    const addrs: Record<number, string> = {};
    for (const i of which) {
      const spec = specs[i]!;
      const name = serviceName(i);
      const limits =
        spec.limit === undefined ? undefined : this.#instrumented(name, createBulkhead(name, spec.limit));
      const service = newService({ name, registry: createMemoryRegistry(), limits, drainTimeoutMs: 3000 });
      service.handle(
        createNodeHandler(
          () => this.client,
          (ctx) => this.#done.add(ctx),
        ),
      );
      await service.start();
      this.#services.push(service);
      addrs[i] = service.address;
    }
    return addrs;
  }

  #instrumented(name: string, inner: Bulkhead): Bulkhead {
    this.#bulkheads.push(inner);
    const broken = this.#variant === "slot-held-by-cancelled";
    return {
      acquire: async (endpoint, ctx) => {
        const release = await inner.acquire(endpoint, ctx);
        const rec: SlotRecord = { service: name, deadline: ctx.deadline, releasedAt: undefined };
        this.#slots.push(rec);
        return () => {
          // Wrong on purpose: keep the slot until the handler itself ends, ignoring the abort.
          if (broken && !this.#done.has(ctx)) return;
          rec.releasedAt ??= Date.now();
          release();
        };
      },
      stats: () => inner.stats(),
    };
  }

  startStorm(everyMs: number, ops: StormOp[]): void {
    this.#storming = true;
    const lockVariant = this.#variant === "lock-across-call";
    this.#storm = (async () => {
      for (let i = 0; this.#storming; i++) {
        const op = ops[i % ops.length]!;
        const change = { retries: op.retries, poolSize: op.poolSize, requestTimeoutMs: op.requestTimeoutMs };
        if (lockVariant) void this.#lock.init(this.client, change);
        else this.client.init(change);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
  }

  async stopStorm(): Promise<void> {
    this.#storming = false;
    await this.#storm;
  }

  /** Waits (bounded) for handlers still running — stubborn ones outlive their callers — then reports. */
  async report(settleMs: number): Promise<HostReport> {
    const end = Date.now() + settleMs;
    const serverInflight = () => this.#services.reduce((n, s) => n + s.inflight().length, 0);
    while ((serverInflight() > 0 || this.client.inflight().length > 0) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const now = Date.now();
    // A timer cannot fire sooner than the event loop lets it: a loaded machine's loop delay is
    // added to the slack, so the check blames the bulkhead, not the machine.
    const lag = this.#loopDelay.max / 1e6;
    this.#loopDelay.disable();
    const lateSlots = this.#slots
      .filter((s) => s.deadline !== undefined && (s.releasedAt ?? now) > s.deadline + SLOT_SLACK_MS + lag)
      .map(
        (s) =>
          `${s.service}: released ${s.releasedAt === undefined ? "never" : `${(s.releasedAt ?? now) - s.deadline!} ms after its deadline`}`,
      );
    return {
      clientInflight: this.client.inflight().length,
      serverInflight: serverInflight(),
      slotsHeld: this.#bulkheads.reduce((n, b) => n + b.stats().active + b.stats().queued, 0),
      lateSlots,
    };
  }

  /** Clears what the leaky variant left behind, once the leak check has seen it. */
  purgeLeaks(): void {
    for (const t of this.#leaked.values()) clearTimeout(t);
    this.#leaked.clear();
  }

  async close(): Promise<void> {
    await this.stopStorm();
    await Promise.all(this.#services.map((s) => s.stop()));
    await this.client.close();
  }
}
