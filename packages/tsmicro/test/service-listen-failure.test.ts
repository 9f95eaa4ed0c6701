/**
 * A start that fails at listen (port in use) undoes itself and leaves the service "stopped",
 * not "starting" (issue 11): stop() settles at once, start() refuses to run a stopped
 * service again, and once the port is free a service on it starts and serves.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { newClient } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { isMicroError } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { newService } from "../src/service/service.js";
import { within } from "./helpers.js";

describe("a service whose listen fails", () => {
  it('reports "stopped" afterwards, and a service starts on the port once it is free', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const { port } = blocker.address() as { port: number };
    const registry = createMemoryRegistry();
    const options = { name: "port-retry", registry, address: `127.0.0.1:${port}` };
    const svc = newService(options);
    svc.handle({ ping: async () => ({ port }) }, { name: "Retry" });
    let blocked = true;
    try {
      assert.equal(svc.state, "new");
      const starting = svc.start();
      assert.equal(svc.state, "starting");
      const err = await starting.then(
        () => assert.fail("start on a busy port succeeded"),
        (e: unknown) => e,
      );
      assert.ok(isMicroError(err), `a MicroError, got ${String(err)}`);
      assert.match(err.detail, /already in use/);
      assert.equal(svc.state, "stopped", "a failed start leaves the service stopped, not starting");
      assert.throws(() => svc.address, /not started/);
      assert.deepEqual(await registry.listServices(), [], "nothing registered");
      await within(svc.stop(), 2000, "stop() after the failed listen");
      assert.equal(svc.state, "stopped");
      await assert.rejects(svc.start(), /already started/, "a stopped service is not started again");

      // The port frees: a service with the same options starts on it and serves.
      await new Promise((r) => blocker.close(r));
      blocked = false;
      const again = newService(options);
      again.handle({ ping: async () => ({ port }) }, { name: "Retry" });
      await within(again.start(), 5000, "the start on the freed port");
      assert.equal(again.state, "running");
      assert.equal(again.address, `127.0.0.1:${port}`);
      const client = newClient({ registry, retries: 0 });
      assert.deepEqual(await client.call(background(), newRequest("port-retry", "Retry.ping", {})), { port });
      await client.close();
      await again.stop();
      assert.equal(again.state, "stopped");
    } finally {
      if (blocked) await new Promise((r) => blocker.close(r));
      await registry.close();
    }
  });
});
