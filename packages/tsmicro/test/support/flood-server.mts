/**
 * A service in its own process for the flood test, so its memory is measured apart from the
 * attackers'. Limits come as JSON in argv[2]; prints its address on stdout.
 */
import { createMemoryRegistry } from "../../src/registry/memory.js";
import { newService } from "../../src/service/service.js";
import { createTcpTransport } from "../../src/transport/tcp.js";

class Echo {
  async echo(_ctx: unknown, req: unknown) {
    return req;
  }
}

const limits = JSON.parse(process.argv[2] ?? "{}");
const service = newService({
  name: "flood",
  registry: createMemoryRegistry(),
  transport: createTcpTransport({ ...limits, log: () => {} }),
}).handle(new Echo());
await service.start();
process.stdout.write(`${service.address}\n`);
process.on("SIGTERM", () => process.exit(0));
