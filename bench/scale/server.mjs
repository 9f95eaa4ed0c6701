// The scale bench's server: one tsmicro service "scale" on 127.0.0.1 (TCP, memory registry),
// with the stall doctor's in-flight table on (the default). Endpoints:
//   Scale.Echo — answers its request;
//   Scale.Hold — answers only when the parent sends `release` (fails with the signal's reason
//                when cancelled or past its deadline): keeps calls in flight as long as needed.
// Jobs: `mem` (memory after GC, requests held), `release` (answer every held request).
import { createMemoryRegistry, newService } from "tsmicro";
import { createTcpTransport } from "tsmicro/plugin";
import { childConfig, report } from "../lib/stats.mjs";
import { memory, serveJobs } from "./child.mjs";

const { maxConnections = 20_000, maxInflightPerConnection = 4096 } = childConfig();
const held = new Set();

class Scale {
  async Echo(_ctx, req) {
    return req;
  }
  Hold(ctx, req) {
    return new Promise((resolve, reject) => {
      const done = () => {
        held.delete(done);
        ctx.signal.removeEventListener("abort", cancel);
        resolve(req);
      };
      // Cancelled or past its deadline: give up without an answer (the server says why).
      const cancel = () => {
        held.delete(done);
        reject(ctx.signal.reason);
      };
      held.add(done);
      ctx.signal.addEventListener("abort", cancel, { once: true });
    });
  }
}

const service = newService({
  name: "scale",
  address: "127.0.0.1:0",
  registry: createMemoryRegistry(),
  transport: createTcpTransport({ maxConnections, maxInflightPerConnection, log: () => {} }),
});
service.handle(new Scale());
await service.start();
report({ type: "ready", address: service.address, pid: process.pid });
await serveJobs(
  {
    mem: () => ({ ...memory(), held: held.size }),
    held: () => ({ held: held.size }),
    release: () => {
      const n = held.size;
      for (const done of [...held]) done();
      return { released: n };
    },
  },
  report,
  () => service.stop(),
);
