/** Shared bits of the interop tests: unique names, event waits, go-micro caller runs. */
import { randomUUID } from "node:crypto";
import type { Registry } from "tsmicro";
import type { RegistryEvent, Watcher } from "tsmicro/plugin";
import { type GoBuild, startGo } from "../../src/testing/index.js";

/** A service name no other test (or test run) uses. */
export const uniqueName = (what: string) => `${what}-${randomUUID().slice(0, 8)}`;

/** Collects a watcher's events; `next(match, ms)` waits for one that matches. */
export function collect(watcher: Watcher) {
  const events: RegistryEvent[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    for await (const e of watcher) {
      events.push(e);
      for (const w of waiters) w();
    }
  })();
  return {
    events,
    next(what: string, ms: number, match: (e: RegistryEvent) => boolean): Promise<RegistryEvent> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = events.find(match);
          if (e) {
            waiters.delete(check);
            clearTimeout(t);
            resolve(e);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out after ${ms} ms waiting for ${what}; saw ${JSON.stringify(events.map((e) => [e.type, e.service.nodes.map((n) => n.id)]))}`,
            ),
          );
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs the go-micro caller once and returns its JSON line. */
export async function goCall<T = GoResult>(build: GoBuild, args: string[], ms = 20_000): Promise<T> {
  const p = startGo(build, "caller", args);
  try {
    return await p.json<T>(
      `the go-micro caller's result (${args.join(" ")})`,
      ms,
      (v) => "case" in (v as object),
    );
  } finally {
    await p.kill();
  }
}

export interface GoResult {
  case: string;
  ok: boolean;
  response?: Record<string, unknown>;
  messages?: Record<string, unknown>[];
  error?: { id: string; code: number; detail: string; status: string };
  raw?: string;
  ms: number;
  services?: {
    name: string;
    version: string;
    nodes: { id: string; address: string; metadata: Record<string, string> }[];
  }[];
}

/**
 * Resolves once `watch` (on `registry`, for `service`) delivers events: registers a probe node
 * and waits for its create, then removes it. A watch opened just before another process
 * registers could otherwise miss that registration.
 */
export async function watchIsLive(
  registry: Registry,
  service: string,
  watch: ReturnType<typeof collect>,
): Promise<void> {
  const probe = {
    name: service,
    version: "probe",
    metadata: {},
    endpoints: [],
    nodes: [{ id: `probe-${randomUUID()}`, address: "127.0.0.1:1", metadata: {} }],
  };
  await registry.register(probe, { ttlMs: 30_000 });
  await watch.next(
    "the watch to see a probe node",
    10_000,
    (e) => e.type === "create" && e.service.nodes[0]?.id === probe.nodes[0]!.id,
  );
  await registry.deregister(probe);
  await watch.next(
    "the watch to see the probe node go",
    10_000,
    (e) => e.type === "delete" && e.service.nodes[0]?.id === probe.nodes[0]!.id,
  );
}
