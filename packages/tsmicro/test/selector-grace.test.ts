/**
 * The selector's grace (issue 12): when the registry reports a service's last node gone
 * while that node still listens (a registry healing from a partition reports its expired
 * leases before the services register again), calls go on to the nodes that just left for
 * `graceMs`; after it, "not found". A kept node that fails at the transport level is dropped,
 * so a service that really stopped fails fast. The control, `graceMs: 0`, loses those calls.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newClient } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background, withTimeout } from "../src/context.js";
import { isMicroError } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import type { Registry } from "../src/registry/registry.js";
import { createSelector, type Selector } from "../src/selector/selector.js";
import { newService } from "../src/service/service.js";
import { waitFor } from "../src/testing/wait.js";
import { rejection } from "./helpers.js";

const GRACE_MS = 1500;

async function echoService(registry: Registry, name: string) {
  // No refresh during the test: only the test (or stop) changes the registration.
  const svc = newService({ name, registry, registerIntervalMs: 60_000 });
  svc.handle({ Ping: async () => ({ ok: true }) }, { name: "Echo" });
  await svc.start();
  return svc;
}

/** A selector that records the transport failures the client reports. */
function marking(inner: Selector): Selector & { failed: string[] } {
  const failed: string[] = [];
  return {
    failed,
    select: (s, o) => inner.select(s, o),
    mark(s, node, error) {
      if (error !== undefined) failed.push(node.id);
      inner.mark(s, node, error);
    },
    started: (s, n) => inner.started?.(s, n),
    finished: (s, n) => inner.finished?.(s, n),
    close: () => inner.close(),
  };
}

// Idempotent: a call that finds its pooled connection closing is retried (on another node).
const ping = (c: ReturnType<typeof newClient>, name: string) =>
  c.call<{ ok: boolean }>(withTimeout(background(), 5000), newRequest(name, "Echo.Ping", {}), {
    idempotent: true,
  });

describe("selector grace", () => {
  it("keeps calling a service deregistered while it still listens, for graceMs; the control (0) loses those calls", async () => {
    const registry = createMemoryRegistry();
    const name = `grace-${process.pid}`;
    const svc = await echoService(registry, name);
    const graced = newClient({ registry, selector: createSelector({ registry, graceMs: GRACE_MS }) });
    const control = newClient({ registry, selector: createSelector({ registry, graceMs: 0 }) });
    try {
      assert.deepEqual(await ping(graced, name), { ok: true });
      assert.deepEqual(await ping(control, name), { ok: true });
      // What a healing registry does: the node's registration is gone, the process is not.
      const [record] = await registry.getService(name);
      await registry.deregister(record!);
      const at = Date.now();

      // Negative control: without grace the watch's delete makes every call "not found".
      const lost = await waitFor("the control client to see the service gone", 3000, async () => {
        const e = await ping(control, name).then(
          () => undefined,
          (err: unknown) => err,
        );
        return e === undefined ? undefined : e;
      });
      assert.ok(isMicroError(lost), `a MicroError, got ${String(lost)}`);
      assert.equal(lost.code, 404);
      assert.match(lost.detail, /not found/);

      // With grace, calls keep working while the node listens: the same moment, many calls.
      let ok = 0;
      while (Date.now() - at < GRACE_MS / 2) {
        assert.deepEqual(await ping(graced, name), { ok: true }, "a call during the grace");
        ok++;
      }
      assert.ok(ok > 10, `calls made during the grace: ${ok}`);

      // After the grace: not found, as for the control.
      const after = await waitFor("the grace to end", GRACE_MS + 3000, async () => {
        const e = await ping(graced, name).then(
          () => undefined,
          (err: unknown) => err,
        );
        return e === undefined ? undefined : { e, ms: Date.now() - at };
      });
      assert.ok(isMicroError(after.e), `a MicroError, got ${String(after.e)}`);
      assert.equal(after.e.code, 404);
      assert.match(after.e.detail, /service "grace-\d+" not found/);
      assert.ok(after.ms >= GRACE_MS - 20, `calls worked until the grace ended (${after.ms} ms)`);

      // A registration ends the grace at once; the service is served as before.
      await registry.register(record!);
      await waitFor("the node to be back", 3000, async () =>
        (await ping(graced, name)).ok ? true : undefined,
      );
    } finally {
      await svc.stop();
      await Promise.all([graced.close(), control.close()]);
      await registry.close();
    }
  });

  it("drops a kept node that refuses the connection: a stopped service fails fast with not found", async () => {
    const registry = createMemoryRegistry();
    const name = `grace-dead-${process.pid}`;
    const svc = await echoService(registry, name);
    const selector = marking(createSelector({ registry, graceMs: 60_000 }));
    const client = newClient({ registry, selector });
    try {
      assert.deepEqual(await ping(client, name), { ok: true });
      const nodeId = svc.record().nodes[0]!.id;
      // Deregisters, then closes the listener: the node is kept, and dialing it is refused.
      await svc.stop();
      const started = Date.now();
      const e = await rejection(ping(client, name), 5000, "the call to a stopped service to fail");
      assert.ok(isMicroError(e), `a MicroError, got ${String(e)}`);
      assert.equal(e.code, 404, `not found, not a refused dial: ${e.detail}`);
      assert.ok(selector.failed.includes(nodeId), "the kept node was tried, failed, and was dropped");
      const e2 = await rejection(ping(client, name), 5000, "the next call to fail");
      assert.equal(e2.code, 404);
      assert.ok(Date.now() - started < 60_000 / 10, "well within the grace: it did not wait for it to end");
    } finally {
      await client.close();
      await registry.close();
    }
  });
});
