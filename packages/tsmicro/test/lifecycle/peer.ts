// The lifecycle fuzzer's other process: on request it starts or stops an "fz" service in the
// fuzzer's local registry directory, so calls and streams also cross a process boundary and
// the registry sees another process's leases come and go. Answers each request over IPC.
import { createLocalRegistry } from "../../src/registry/local.js";
import type { Registry } from "../../src/registry/registry.js";
import { type MicroService, newService } from "../../src/service/service.js";
import { fzHandler, SERVICE } from "./world.js";

export interface PeerRequest {
  id: number;
  op: "start" | "stop";
  dir?: string;
}

let current: { svc: MicroService; registry: Registry } | undefined;

async function stop(): Promise<void> {
  const c = current;
  current = undefined;
  if (c === undefined) return;
  await c.svc.stop();
  await c.registry.close();
}

process.on("message", (req: PeerRequest) => {
  void (async () => {
    try {
      if (req.op === "start") {
        await stop();
        const registry = createLocalRegistry({ dir: req.dir!, pollMs: 100 });
        const svc = newService({
          name: SERVICE,
          registry,
          registerIntervalMs: 200,
          registerTtlMs: 2000,
          drainTimeoutMs: 300,
        }).handle(fzHandler());
        current = { svc, registry };
        await svc.start();
      } else {
        await stop();
      }
      process.send!({ id: req.id, ok: true });
    } catch (err) {
      process.send!({ id: req.id, ok: false, error: String(err) });
    }
  })();
});
process.send!({ id: 0, ok: true });
