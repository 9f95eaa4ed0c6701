// tsmicro echo service ("Echo.Echo") on its default TCP transport, 127.0.0.1 only, memory registry
// (or, with `registryDir`, the default local registry in that directory).
import { createMemoryRegistry, newService } from "tsmicro";
import { childConfig, exitWithParent, report } from "../lib/stats.mjs";

class Echo {
  async Echo(_ctx, req) {
    return req;
  }
}

const { trackInflight = true, registryDir } = childConfig();
if (registryDir) process.env.MICRO_REGISTRY_DIR = registryDir;
const service = newService({
  name: "echo",
  address: "127.0.0.1:0",
  ...(registryDir ? {} : { registry: createMemoryRegistry() }),
  trackInflight,
});
service.handle(new Echo());
await service.start();
report({ type: "ready", address: service.address });
exitWithParent(() => service.stop());
