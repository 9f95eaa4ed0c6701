/**
 * TCP keepalive on dialled connections: a server that goes silent (as a host whose link went
 * down: no RST) fails in-flight requests within two intervals as a retryable transport
 * failure, instead of holding them for their whole deadline. A slow handler on a live server
 * is not mistaken for a dead one (the server answers pings while it works).
 */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { newClient } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { MicroError } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { newService } from "../src/service/service.js";
import { createTcpTransport } from "../src/transport/tcp.js";

// A black hole: accepts, reads everything, answers nothing.
const sockets = new Set<Socket>();
const hole = createServer((s) => {
  sockets.add(s);
  s.on("data", () => {});
});
await new Promise<void>((r) => hole.listen(0, "127.0.0.1", r));
const holeAddress = `127.0.0.1:${(hole.address() as { port: number }).port}`;
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => hole.close(r));
});

async function callHole(keepaliveMs: number) {
  const client = newClient({
    registry: createMemoryRegistry(),
    transport: createTcpTransport({ keepaliveMs }),
    requestTimeoutMs: 1500,
    retries: 0,
  });
  const t0 = Date.now();
  try {
    await client.call(background(), newRequest("hole", "X.y", {}), { address: holeAddress });
    assert.fail("the black hole answered");
  } catch (err) {
    return { err: err as MicroError, ms: Date.now() - t0 };
  } finally {
    await client.close();
  }
}

describe("tcp keepalive", () => {
  it("fails requests to a silent server within two intervals, as a transport failure", async () => {
    const { err, ms } = await callHole(100);
    assert.ok(err instanceof MicroError);
    assert.equal(err.code, 503, err.detail);
    assert.match(err.detail, /no answer to a ping/);
    assert.ok(ms < 1000, `failed after ${ms} ms, before the 1500 ms deadline`);
  });

  it("negative control: without keepalive the same request waits for its deadline", async () => {
    const { err, ms } = await callHole(0);
    assert.equal(err.code, 408, err.detail);
    assert.ok(ms >= 1400, `timed out after ${ms} ms`);
  });

  it("a handler slower than the interval still answers", async () => {
    const registry = createMemoryRegistry();
    class Slow {
      async wait() {
        await new Promise((r) => setTimeout(r, 600));
        return { done: true };
      }
    }
    const service = newService({ name: "ka-slow", registry }).handle(new Slow());
    await service.start();
    const client = newClient({ registry, transport: createTcpTransport({ keepaliveMs: 100 }), retries: 0 });
    try {
      assert.deepEqual(await client.call(background(), newRequest("ka-slow", "Slow.wait", {})), {
        done: true,
      });
    } finally {
      await client.close();
      await service.stop();
    }
  });
});
