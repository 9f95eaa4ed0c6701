import type { Client } from "../src/client/client.js";
import { newClient } from "../src/client/client.js";
import type { ClientOptions } from "../src/client/options.js";
import { MicroError } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import type { Registry } from "../src/registry/registry.js";
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  type MicroService,
  newService,
  type ServiceOptions,
} from "../src/service/service.js";

// The process's own signal listeners when the tests began: a test runner's (Stryker's tap
// runner ends the process on SIGTERM). emitSignal leaves them out.
const runnerListeners = {
  SIGTERM: new Set(process.listeners("SIGTERM")),
  SIGINT: new Set(process.listeners("SIGINT")),
};

/**
 * Emits `signal` to the listeners the code under test added (run()'s), not to the test
 * runner's: emitted, not sent, so no real signal ever hits the runner.
 */
export function emitSignal(signal: "SIGTERM" | "SIGINT"): void {
  for (const l of process.listeners(signal)) if (!runnerListeners[signal].has(l)) l(signal);
}

/** Rejects with a message naming what was awaited if `p` does not settle within `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `cond` every 2 ms for up to `ms`; fails naming `what` (the polling stops either way). */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves with the rejection of `p` (fails if it resolves), bounded by `ms`. */
export async function rejection(p: Promise<unknown>, ms = 10_000, what = "the call to fail"): Promise<any> {
  return within(
    p.then(
      (v) => {
        throw new Error(`expected ${what}, but it resolved with ${JSON.stringify(v)}`);
      },
      (e) => e,
    ),
    ms,
    what,
  );
}

/** The MicroError `p` rejects with, within `ms`; fails naming `what` if it resolves or rejects with anything else. */
export async function microError(p: Promise<unknown>, what: string, ms = 5000): Promise<MicroError> {
  const e: unknown = await rejection(p, ms, what);
  if (!(e instanceof MicroError)) throw new Error(`expected a MicroError for ${what}, got ${String(e)}`);
  return e;
}

export interface Fixture {
  registry: Registry;
  services: MicroService[];
  clients: Client[];
  start(name: string, handlers: object[], options?: Partial<ServiceOptions>): Promise<MicroService>;
  client(options?: Partial<ClientOptions>): Client;
  close(): Promise<void>;
}

/**
 * Services and clients on one memory registry, all closed by `close()`. Closing is bounded: a
 * stop that never ends (a listener that never closes) fails the test in seconds, naming the
 * services, instead of holding the file until the runner's outer timeout.
 */
export function fixture(): Fixture {
  const registry = createMemoryRegistry();
  let drainMs: number = DEFAULT_DRAIN_TIMEOUT_MS;
  const f: Fixture = {
    registry,
    services: [],
    clients: [],
    async start(name, handlers, options = {}) {
      const s = newService({ name, registry, address: "127.0.0.1:0", ...options });
      drainMs = Math.max(drainMs, options.drainTimeoutMs ?? 0);
      for (const h of handlers) s.handle(h);
      await s.start();
      f.services.push(s);
      return s;
    },
    client(options = {}) {
      const c = newClient({ registry, ...options });
      f.clients.push(c);
      return c;
    },
    async close() {
      const names = f.services.map((s) => s.name).join(", ");
      // A stop may drain for up to drainTimeoutMs; anything past that plus a margin is a hang.
      await within(Promise.all(f.services.map((s) => s.stop())), drainMs + 5000, `services ${names} to stop`);
      await within(Promise.all(f.clients.map((c) => c.close())), 5000, "the fixture's clients to close");
      await within(registry.close(), 5000, "the fixture's registry to close");
    },
  };
  return f;
}
