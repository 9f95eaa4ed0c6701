// deploy/example/service.mjs — the service the Dockerfile and deploy/kubernetes/ run.
// Everything a deployment changes comes from the environment:
//   MICRO_SERVER_ADDRESS    where the RPC listener binds           (in a pod: 0.0.0.0:8080)
//   MICRO_SERVER_ADVERTISE  what is registered                     (in a pod: the pod IP)
//   MICRO_REGISTRY, MICRO_REGISTRY_ADDRESS, MICRO_BROKER, MICRO_BROKER_ADDRESS
//   HEALTH_ADDRESS          where /livez and /readyz are served     (in a pod: 0.0.0.0:8081)
//   DRAIN_TIMEOUT_MS        how long in-flight requests may finish on SIGTERM
//   SERVICE_NAME            the registered name (default "greeter")
import { createHealthServer } from "@tsmicro/health";
import { badRequest, newService } from "tsmicro";

class Greeter {
  async Hello(_ctx, req) {
    if (!req?.name) throw badRequest("greeter", "name is required");
    return { msg: `Hello ${req.name}`, node: service.nodeId };
  }
}

const log = (msg, fields = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }));

const service = newService({
  name: process.env.SERVICE_NAME || "greeter",
  ...(process.env.DRAIN_TIMEOUT_MS ? { drainTimeoutMs: Number(process.env.DRAIN_TIMEOUT_MS) } : {}),
  log: (message) => log(message),
});
service.handle(new Greeter());
await service.start();
const health = await createHealthServer(service, { address: process.env.HEALTH_ADDRESS || "0.0.0.0:8081" });
log("started", {
  service: service.name,
  node: service.nodeId,
  address: service.address,
  advertised: service.advertised,
  health: health.address,
});

// SIGTERM (the kubelet, docker stop): deregister, stop accepting, drain, close — then the probes.
process.once("SIGTERM", async () => {
  log("stopping");
  await service.stop();
  await health.close();
  log("stopped");
  process.exit(0);
});
