// The second process of the two-process chaos mode: hosts the services it is told to,
// storms its own client, and reports leaks over IPC. Runs until its parent disconnects.

import { Host } from "./host.js";
import type { ServiceSpec, StormOp } from "./plan.js";
import { leftOver, resources } from "./resources.js";

type Message =
  | {
      type: "start";
      specs: ServiceSpec[];
      which: number[];
      poolSize: number;
      requestTimeoutMs: number;
      storm: { everyMs: number; ops: StormOp[] };
    }
  | { type: "stop"; settleMs: number };

let host: Host | undefined;
let baseline = resources();

process.on("message", async (m: Message) => {
  if (m.type === "start") {
    baseline = resources();
    host = new Host("correct", m.poolSize, m.requestTimeoutMs);
    const addrs = await host.start(m.specs, m.which);
    host.startStorm(m.storm.everyMs, m.storm.ops);
    process.send!({ type: "started", addrs });
  } else if (m.type === "stop" && host !== undefined) {
    await host.stopStorm();
    const report = await host.report(m.settleMs);
    await host.close();
    host = undefined;
    const left = await leftOver(baseline, 2000);
    process.send!({ type: "stopped", report, left });
  }
});
process.on("disconnect", () => process.exit(0));
process.send!({ type: "ready" });
