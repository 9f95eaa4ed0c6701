/**
 * Limits against hostile or broken peers on the TCP transport: connection count, requests in
 * flight per connection, handshake, frame (slow peer) and idle timeouts. Each is answered with
 * a clear error where the wire allows, logged once, and good clients keep being served.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { newClient } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { defineContract, serverStream } from "../src/contract/contract.js";
import { implement } from "../src/contract/implement.js";
import { MicroError } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { type MicroService, newService } from "../src/service/service.js";
import { createTcpTransport, type TcpTransportOptions } from "../src/transport/tcp.js";
import {
  encodeFrame,
  FrameType,
  frameError,
  openRaw,
  PREFACE,
  requestFrame,
  waitUntil,
} from "./support/raw-peer.js";

const registry = createMemoryRegistry();
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let release: () => void = () => {};
class Work {
  async echo(_ctx: unknown, req: unknown) {
    return req;
  }
  async hold(_ctx: unknown, _req: unknown) {
    await new Promise<void>((resolve) => {
      const prev = release;
      release = () => {
        prev();
        resolve();
      };
    });
    return { held: true };
  }
}

async function serve(options: TcpTransportOptions): Promise<{ service: MicroService; logs: string[] }> {
  const logs: string[] = [];
  const service = newService({
    name: "work",
    registry,
    transport: createTcpTransport({ ...options, log: (m) => logs.push(m) }),
  }).handle(new Work());
  await service.start();
  cleanups.push(() => service.stop());
  return { service, logs };
}

function client(poolSize = 1) {
  const c = newClient({ registry, retries: 0, poolSize, transport: createTcpTransport({ log: () => {} }) });
  cleanups.push(() => c.close());
  return c;
}

async function timedEcho(address: string): Promise<number> {
  const c = client();
  const t0 = performance.now();
  const out = await c.call(background(), newRequest("work", "Work.echo", { n: 1 }), {
    address,
    requestTimeoutMs: 2000,
  });
  assert.deepEqual(out, { n: 1 });
  return performance.now() - t0;
}

describe("tcp transport limits", () => {
  test("maxConnections: the connection over the limit gets a 503 naming the limit; freeing one lets calls in", async () => {
    const { service, logs } = await serve({ maxConnections: 2 });
    const a = await openRaw(service.address);
    const b = await openRaw(service.address);
    a.socket.write(PREFACE);
    b.socket.write(PREFACE);
    const c = client();
    const req = newRequest("work", "Work.echo", {});
    const err = await c.call(background(), req, { address: service.address }).catch((e: unknown) => e);
    assert.ok(err instanceof MicroError, String(err));
    assert.equal(err.code, 503);
    assert.match(err.detail, /the server is at its limit of 2 connections/);
    // A second refusal is counted, not logged again.
    await c.call(background(), req, { address: service.address }).catch(() => {});
    assert.equal(logs.filter((l) => l.includes("limit of 2 connections")).length, 1);
    a.socket.destroy();
    await waitUntil(() => a.closed, 2000, "the raw peer to close");
    await timedEcho(service.address);
    b.socket.destroy();
  });

  test("maxInflightPerConnection: requests over the limit get a 429 each, logged once", async () => {
    const { service, logs } = await serve({ maxInflightPerConnection: 2 });
    const c = client(1);
    const opts = { address: service.address, requestTimeoutMs: 3000 };
    let settled = 0;
    const calls = Array.from({ length: 6 }, () =>
      c.call(background(), newRequest("work", "Work.hold", {}), opts).then(
        () => "ok",
        (e: MicroError) => {
          settled++;
          return e;
        },
      ),
    );
    await waitUntil(() => service.inflight().length === 2 && settled === 4, 2000, "two held, four refused");
    release();
    const results = await Promise.all(calls);
    assert.equal(results.filter((r) => r === "ok").length, 2);
    const refused = results.filter((r): r is MicroError => r instanceof MicroError);
    assert.equal(refused.length, 4);
    for (const e of refused) {
      assert.equal(e.code, 429);
      assert.match(e.detail, /2 requests already in flight on this connection, the limit is 2/);
    }
    assert.equal(logs.filter((l) => l.includes("already in flight")).length, 1);
  });

  test("maxInflightPerConnection bounds open streams too: the one over the limit is a 429", async () => {
    const Held = defineContract("Held", { hold: serverStream<Record<string, never>, { i: number }>() });
    const logs: string[] = [];
    const service = newService({
      name: "held",
      registry,
      transport: createTcpTransport({ maxInflightPerConnection: 2, log: (m) => logs.push(m) }),
    }).handle(
      implement(Held, {
        async *hold(ctx) {
          yield { i: 0 };
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        },
      }),
    );
    await service.start();
    cleanups.push(() => service.stop());
    const c = client(1);
    const open = () =>
      c.stream(
        background(),
        { service: "held", endpoint: "Held.hold", body: {} },
        { address: service.address },
      );
    const a = await open();
    const b = await open();
    assert.deepEqual(await a.recv(), { i: 0 });
    assert.deepEqual(await b.recv(), { i: 0 });
    const third = await open();
    const err = await third.recv().then(
      () => assert.fail("a third stream was accepted over the limit of 2"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MicroError, String(err));
    assert.equal(err.code, 429);
    assert.match(err.detail, /2 streams already open on this connection, the limit is 2/);
    a.close("done");
    b.close("done");
  });

  test("header limits: too large a header or too many metadata entries is a 400 naming the limit; the connection carries on", async () => {
    const { service } = await serve({ maxHeaderBytes: 1024, maxMetadataEntries: 4 });
    const c = client(1);
    const req = newRequest("work", "Work.echo", { ok: 1 });
    const opts = { address: service.address };
    const many = Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`k${k}`, "v"]));
    const e1 = await c.call(background(), req, { ...opts, metadata: many }).catch((e: unknown) => e);
    assert.ok(e1 instanceof MicroError, String(e1));
    assert.equal(e1.code, 400);
    assert.match(e1.detail, /request metadata has 5 entries, over the limit of 4/);
    const e2 = await c
      .call(background(), req, { ...opts, metadata: { big: "x".repeat(2000) } })
      .catch((e: unknown) => e);
    assert.ok(e2 instanceof MicroError, String(e2));
    assert.equal(e2.code, 400);
    assert.match(e2.detail, /request header of \d+ bytes exceeds the limit of 1024/);
    assert.deepEqual(await c.call(background(), req, { ...opts, metadata: { a: "1" } }), { ok: 1 });
  });

  test("handshake timeout: a peer that connects and sends nothing is cut off with a 408", async () => {
    const { service, logs } = await serve({ handshakeTimeoutMs: 300 });
    const silent = await openRaw(service.address);
    const t0 = Date.now();
    await silent.waitClosed(3000, "the server to cut off a silent peer");
    assert.ok(silent.closedAt! - t0 >= 250, `cut off after ${silent.closedAt! - t0} ms, before the timeout`);
    const f = silent.frames.find((x) => x.type === FrameType.Error && x.id === 0);
    assert.ok(f, "the silent peer got no connection-level error frame");
    assert.equal(frameError(f).code, 408);
    assert.match(frameError(f).detail, /handshake timeout: no tsmicro preface within 300 ms/);
    assert.match(logs.join("\n"), /handshake timeout/);
  });

  test("slow peer: dribbling one byte at a time is cut off (preface and frame), good clients keep their latency", async () => {
    const { service, logs } = await serve({ handshakeTimeoutMs: 400, frameTimeoutMs: 500 });
    const baseline = await timedEcho(service.address);

    // Dribbles the preface: never finishes it in time.
    const p1 = await openRaw(service.address);
    // Sends the preface whole, then dribbles a request frame.
    const p2 = await openRaw(service.address);
    p2.socket.write(PREFACE);
    const frame = requestFrame(1, "work", "Work.echo", { x: "y".repeat(64) });
    let i = 0;
    const drip = setInterval(() => {
      // The preface at one byte per 120 ms takes 960 ms: past the 400 ms handshake limit.
      const j = i / 3;
      if (!p1.closed && i % 3 === 0 && j < PREFACE.length) p1.socket.write(PREFACE.subarray(j, j + 1));
      if (!p2.closed && i < frame.length) p2.socket.write(frame.subarray(i, i + 1));
      i++;
    }, 40);
    cleanups.push(() => clearInterval(drip));

    const during: number[] = [];
    while (!(p1.closed && p2.closed)) {
      during.push(await timedEcho(service.address));
      if (during.length > 200) assert.fail("slow peers were not cut off after 200 good calls");
      await new Promise((r) => setTimeout(r, 20));
    }
    clearInterval(drip);
    assert.match(frameError(p1.frames.find((f) => f.id === 0)!).detail, /handshake timeout/);
    assert.match(
      frameError(p2.frames.find((f) => f.id === 0)!).detail,
      /frame timeout: a frame was not completed within 500 ms/,
    );
    assert.match(logs.join("\n"), /frame timeout/);
    const worst = Math.max(...during);
    assert.ok(worst < Math.max(250, baseline * 20), `a good call took ${worst} ms while slow peers dribbled`);
  });

  test("negative control: a peer sending whole frames steadily is not cut off by the frame timeout", async () => {
    const { service } = await serve({ frameTimeoutMs: 200, handshakeTimeoutMs: 200 });
    const p = await openRaw(service.address);
    p.socket.write(PREFACE);
    for (let k = 1; k <= 12; k++) {
      p.socket.write(encodeFrame(FrameType.Ping, k, "", new Uint8Array(0)));
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(p.closed, false, "a steady peer was cut off");
    assert.equal(p.frames.filter((f) => f.type === FrameType.Pong).length, 12);
    p.socket.destroy();
  });

  test("idle timeout: an idle connection is sent away (GoAway) and closed; the client redials transparently", async () => {
    const { service } = await serve({ idleTimeoutMs: 300 });
    const idle = await openRaw(service.address);
    idle.socket.write(PREFACE);
    await idle.waitClosed(3000, "the idle connection to be closed");
    assert.ok(
      idle.frames.some((f) => f.type === FrameType.GoAway),
      "no GoAway before the idle close",
    );
    const c = client();
    const req = newRequest("work", "Work.echo", { a: 1 });
    assert.deepEqual(await c.call(background(), req, { address: service.address }), { a: 1 });
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(await c.call(background(), req, { address: service.address }), { a: 1 });
  });

  test("options are checked: a limit that is not a positive number is a TypeError naming it", () => {
    assert.throws(() => createTcpTransport({ maxConnections: 0 }), /maxConnections must be a number > 0/);
    assert.throws(
      () => createTcpTransport({ idleTimeoutMs: Number.NaN }),
      /idleTimeoutMs must be a number > 0/,
    );
  });
});
