/**
 * A service on the gRPC transport registers what `advertise` says (the core's address rule,
 * shared with TCP), and a gRPC client reaches it through that address.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { background, createMemoryRegistry, MicroError, newClient, newRequest, newService } from "tsmicro";
import { createGrpcTransport } from "../src/index.js";

class Echo {
  async ping() {
    return { pong: "grpc" };
  }
}

test("grpc: a bare advertised host name takes the bound port, and is dialed through the registry", async () => {
  const registry = createMemoryRegistry();
  const service = newService({
    name: "grpc-adv",
    registry,
    transport: createGrpcTransport(),
    advertise: "localhost",
  }).handle(new Echo());
  await service.start();
  const client = newClient({ registry, transport: createGrpcTransport() });
  try {
    const port = service.address.split(":").pop();
    const [svc] = await registry.getService("grpc-adv");
    assert.equal(svc?.nodes[0]?.address, `localhost:${port}`);
    assert.equal(svc?.nodes[0]?.metadata.transport, "grpc");
    assert.deepEqual(await client.call(background(), newRequest("grpc-adv", "Echo.ping", {})), {
      pong: "grpc",
    });
  } finally {
    await client.close();
    await service.stop();
  }
});

test("grpc: a wildcard advertise is refused with the option named", async () => {
  const registry = createMemoryRegistry();
  const service = newService({
    name: "grpc-adv-bad",
    registry,
    transport: createGrpcTransport(),
    advertise: "[::]:9",
  });
  await assert.rejects(
    service.start(),
    (e: unknown) => e instanceof MicroError && /MICRO_SERVER_ADVERTISE/.test(e.detail),
  );
  assert.deepEqual(await registry.getService("grpc-adv-bad"), []);
});
