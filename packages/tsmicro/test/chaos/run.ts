// Runs one generated scenario and returns every property it violated (empty = all held):
//  settle:   every root call settles, with a value or a MicroError, by its deadline + SETTLE_SLACK_MS
//  complete: (friendly scenarios) every root call succeeds and visits every hop of its plan
//  slots:    no concurrency slot is held past its request's deadline (+ slack), so no call waits
//            on a slot its cancelled ancestor still holds
//  leaks:    afterwards nothing is in flight, no slot is held, and no timer or socket is left
import { type ChildProcess, fork } from "node:child_process";
import { newRequest } from "../../src/client/request.js";
import { background, withCancel } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";
import { Host, type HostReport, type VariantName } from "./host.js";
import { type CallBody, serviceName } from "./node-service.js";
import { criticalPathMs, type Knobs, type Scenario, size } from "./plan.js";
import { leftOver, type Resources, resources } from "./resources.js";

export const SETTLE_SLACK_MS = 500;

/** The child process of the two-process mode, shared by the scenarios of one run. */
export class Remote {
  readonly #child: ChildProcess;
  readonly ready: Promise<void>;

  constructor() {
    this.#child = fork(new URL("./child.ts", import.meta.url), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.ready = this.#next("ready", 20_000).then(() => undefined);
  }

  #next(type: string, ms: number): Promise<any> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#child.off("message", on);
        reject(new Error(`timed out after ${ms} ms waiting for the chaos child's "${type}"`));
      }, ms);
      const on = (m: { type: string }) => {
        if (m.type !== type) return;
        clearTimeout(timer);
        this.#child.off("message", on);
        resolve(m);
      };
      this.#child.on("message", on);
    });
  }

  async start(s: Scenario, which: number[], requestTimeoutMs: number): Promise<Record<number, string>> {
    this.#child.send({
      type: "start",
      specs: s.services,
      which,
      poolSize: s.poolSize,
      requestTimeoutMs,
      storm: s.storm,
    });
    return (await this.#next("started", 20_000)).addrs;
  }

  async stop(settleMs: number): Promise<{ report: HostReport; left: string[] }> {
    this.#child.send({ type: "stop", settleMs });
    return this.#next("stopped", settleMs + 20_000);
  }

  close(): void {
    this.#child.kill("SIGKILL");
  }
}

export interface Outcome {
  violations: string[];
  calls: number;
}

export async function runScenario(
  s: Scenario,
  knobs: Knobs,
  variant: VariantName = "correct",
  remote?: Remote,
): Promise<Outcome> {
  const violations: string[] = [];
  const baseline: Resources = resources();
  // Friendly scenarios get deadlines far beyond their work: any failure there is a stall.
  // (Scaled by the number of hops too: a loaded 2-core machine runs them one by one.)
  const generous = (r: Scenario["roots"][number]) => 5000 + 6 * criticalPathMs(r.plan) + 20 * size(r.plan);
  const requestTimeoutMs = knobs.hostile ? 3000 : 30_000;
  const host = new Host(variant, s.poolSize, requestTimeoutMs);
  const local = s.services.map((_, i) => i).filter((i) => !s.services[i]!.remote || remote === undefined);
  const far = s.services.map((_, i) => i).filter((i) => s.services[i]!.remote && remote !== undefined);
  const addrs: string[] = [];
  Object.assign(addrs, await host.start(s.services, local));
  if (far.length > 0) Object.assign(addrs, await remote!.start(s, far, requestTimeoutMs));
  host.startStorm(s.storm.everyMs, s.storm.ops);

  const stubborn = knobs.stubbornMs ?? 0;
  await Promise.all(
    s.roots.map(async (root, i) => {
      const timeoutMs = knobs.hostile ? root.timeoutMs : generous(root);
      const [ctx, cancel] = withCancel(background());
      const cancelTimer =
        root.cancelAfterMs === undefined
          ? undefined
          : setTimeout(() => cancel("cancelled by the chaos caller"), root.cancelAfterMs);
      const body: CallBody = { plan: root.plan, addrs };
      const t0 = Date.now();
      let guard: NodeJS.Timeout | undefined;
      const bound = timeoutMs + SETTLE_SLACK_MS;
      const outcome = await Promise.race([
        host.client
          .call<{ n: number }>(ctx, newRequest(serviceName(root.plan.s), "Node.Call", body), {
            address: addrs[root.plan.s]!,
            requestTimeoutMs: timeoutMs,
          })
          .then(
            (v) => ({ ok: true as const, v }),
            (e: unknown) => ({ ok: false as const, e }),
          ),
        new Promise<"stuck">((resolve) => {
          guard = setTimeout(() => resolve("stuck"), bound);
        }),
      ]);
      clearTimeout(guard);
      clearTimeout(cancelTimer);
      cancel();
      const took = Date.now() - t0;
      if (outcome === "stuck") {
        violations.push(`settle: root ${i} did not settle within ${bound} ms (deadline ${timeoutMs} ms)`);
        return;
      }
      if (!outcome.ok && !(outcome.e instanceof MicroError)) {
        violations.push(`settle: root ${i} rejected with a non-MicroError: ${String(outcome.e)}`);
      }
      if (!knobs.hostile) {
        if (!outcome.ok) {
          const e = outcome.e as MicroError;
          violations.push(`complete: root ${i} failed after ${took} ms: ${e.code} ${e.detail}`);
        } else if (outcome.v.n !== size(root.plan)) {
          violations.push(`complete: root ${i} visited ${outcome.v.n} hops of ${size(root.plan)}`);
        }
      }
    }),
  );

  await host.stopStorm();
  const settleMs = stubborn + 3000;
  const reports: HostReport[] = [await host.report(settleMs)];
  await host.close();
  if (far.length > 0) {
    const r = await remote!.stop(settleMs);
    reports.push(r.report);
    for (const l of r.left) violations.push(`leaks: child process kept ${l}`);
  }
  for (const r of reports) {
    if (r.clientInflight > 0) violations.push(`leaks: ${r.clientInflight} client call(s) still in flight`);
    if (r.serverInflight > 0) violations.push(`leaks: ${r.serverInflight} request(s) still being handled`);
    if (r.slotsHeld > 0) violations.push(`leaks: ${r.slotsHeld} concurrency slot(s) held or queued`);
    for (const l of r.lateSlots) violations.push(`slots: ${l}`);
  }
  for (const l of await leftOver(baseline, 2000)) violations.push(`leaks: ${l} left open`);
  host.purgeLeaks();
  return { violations, calls: s.roots.length };
}
