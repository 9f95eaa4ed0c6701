// tsmicro echo service ("Echo.Echo") on its default TCP transport, 127.0.0.1 only, memory registry.
import { createMemoryRegistry, newService } from "tsmicro";
import { childConfig, exitWithParent, report } from "../lib/stats.mjs";

class Echo {
  async Echo(_ctx, req) {
    return req;
  }
}

const { trackInflight = true } = childConfig();
const service = newService({
  name: "echo",
  address: "127.0.0.1:0",
  registry: createMemoryRegistry(),
  trackInflight,
});
service.handle(new Echo());
await service.start();
report({ type: "ready", address: service.address });
exitWithParent(() => service.stop());
