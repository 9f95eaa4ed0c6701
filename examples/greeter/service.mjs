// examples/greeter/service.mjs — a service with one handler class.
// Run: node examples/greeter/service.mjs   (Ctrl-C deregisters, drains and exits)
import { badRequest, newService } from "tsmicro";

class Greeter {
  // Served as the endpoint "Greeter.Hello".
  async Hello(ctx, req) {
    if (!req.name) throw badRequest("greeter", "name is required");
    return { msg: `Hello ${req.name}`, from: ctx.chain.at(-1) };
  }
}

const service = newService({ name: "greeter", version: "1.0.0" });
service.handle(new Greeter());
await service.runMain(); // start, register in the local registry, wait for SIGINT/SIGTERM, stop, exit
