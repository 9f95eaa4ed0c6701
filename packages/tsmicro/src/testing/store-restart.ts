/**
 * The backend-restart test for durable stores: writers keep writing while the test's own server
 * (a private one, never the shared server) is killed and started again. A write during the
 * outage fails with a MicroError or waits; it never resolves without landing. Afterwards every
 * write that resolved (was acknowledged) is read back with its value from a fresh store.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { MicroError } from "../errors.js";
import type { Store } from "../store/store.js";

export interface StoreRestartOptions {
  /** A store on the private server. */
  create(): Store | Promise<Store>;
  /** Kills the server (SIGKILL) and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Concurrent writers. @default 8 */
  writers?: number;
  /** Acknowledged writes before the restart, and again after it. @default 300 */
  writesPerPhase?: number;
  /** Bound on the whole run. @default 90000 */
  timeoutMs?: number;
}

export function storeRestartTest(name: string, options: StoreRestartOptions): void {
  const writers = options.writers ?? 8;
  const perPhase = options.writesPerPhase ?? 300;
  const timeoutMs = options.timeoutMs ?? 90_000;
  it(`${name}: the server restarted during writes; no acknowledged write is lost`, {
    timeout: timeoutMs + 10_000,
  }, async () => {
    const end = Date.now() + timeoutMs;
    const table = `restart_${randomUUID().replaceAll("-", "").slice(0, 10)}`;
    const store = await options.create();
    const acked = new Map<string, string>();
    const failures: string[] = [];
    const phase = { n: "before" as "before" | "restart" | "after", ackedAfter: 0 };
    let stop = false;
    let seq = 0;
    const writer = async (w: number) => {
      while (!stop && Date.now() < end) {
        const key = `w${w}/${seq++}`;
        const value = `${key}@${phase.n}`;
        try {
          await store.write({ key, value: new TextEncoder().encode(value) }, { table });
          acked.set(key, value);
          if (phase.n === "after") phase.ackedAfter++;
        } catch (err) {
          assert.ok(
            err instanceof MicroError,
            `a failed write rejects with a MicroError, got ${String(err)}`,
          );
          failures.push(err.detail);
          await new Promise((r) => setTimeout(r, 20)); // the server is down: do not spin
        }
      }
    };
    const running = Array.from({ length: writers }, (_, w) => writer(w));
    try {
      while (acked.size < perPhase) {
        assert.ok(Date.now() < end, `only ${acked.size} writes acknowledged before the restart`);
        await new Promise((r) => setTimeout(r, 20));
      }
      phase.n = "restart";
      await options.restart();
      phase.n = "after";
      while (phase.ackedAfter < perPhase) {
        assert.ok(
          Date.now() < end,
          `only ${phase.ackedAfter} writes acknowledged after the restart (last failure: ${failures.at(-1)})`,
        );
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      stop = true;
      await Promise.all(running);
    }
    await store.close();
    const reader = await options.create();
    try {
      const keys = new Set(await reader.list({ table }));
      const lost = [...acked.keys()].filter((k) => !keys.has(k));
      assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${acked.size} acknowledged writes lost`);
      const records = await reader.read("w", { table, prefix: true });
      const byKey = new Map(records.map((r) => [r.key, new TextDecoder().decode(r.value)]));
      for (const [k, v] of acked) assert.equal(byKey.get(k), v, `value of ${k}`);
    } finally {
      await reader.close();
    }
  });
}
