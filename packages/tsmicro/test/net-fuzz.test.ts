/**
 * Network fuzz: many connections send random, mutated and truncated frames to a running
 * service; good calls made during and after the attack succeed within their normal latency,
 * and the server logs a bounded number of lines. Seeded like fuzz.test.ts.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, test } from "node:test";
import fc from "fast-check";
import { newClient } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { newService } from "../src/service/service.js";
import { encodeFrame, FrameType, PREFACE } from "../src/transport/frame.js";
import { createTcpTransport } from "../src/transport/tcp.js";
import { requestFrame, within } from "./support/raw-peer.js";

const CONNECTIONS = 300;
const CONCURRENT = 30;
const seed = Number(process.env.TSMICRO_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

class Echo {
  async echo(_ctx: unknown, req: unknown) {
    return req;
  }
}

/** What one hostile connection does: bytes to send, in pieces, and how it ends. */
interface Attack {
  pieces: Uint8Array[];
  end: "close" | "reset" | "linger";
}

const validRequest = fc
  .tuple(fc.nat(), fc.jsonValue())
  .map(([id, body]) => new Uint8Array(requestFrame(id, "target", "Echo.echo", body)));

const mutated = fc
  .tuple(validRequest, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 6 }))
  .map(([frame, flips]) => {
    const b = Buffer.from(frame);
    for (const [at, v] of flips) b[at % b.length] = v;
    return new Uint8Array(b);
  });

const truncated = fc
  .tuple(validRequest, fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([frame, part]) => frame.subarray(0, Math.floor(frame.length * part)));

const randomHeaderRequest = fc
  .tuple(fc.nat(), fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }))
  .map(([id, header, body]) => new Uint8Array(encodeFrame(FrameType.Request, id, header, body)));

const oversized = fc
  .tuple(fc.integer({ min: 5_000_000, max: 0xffffffff }), fc.uint8Array({ maxLength: 4000 }))
  .map(([length, rest]) => {
    const b = Buffer.alloc(13 + rest.length);
    b.writeUInt32BE(length, 0);
    b[4] = FrameType.Request;
    b.set(rest, 13);
    return new Uint8Array(b);
  });

const withPreface = (frames: fc.Arbitrary<Uint8Array[]>) =>
  frames.map((fs) => [new Uint8Array(PREFACE), ...fs]);

const attack: fc.Arbitrary<Attack> = fc.record({
  pieces: fc.oneof(
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 4 }),
    withPreface(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 })),
    withPreface(fc.array(fc.oneof(validRequest, mutated, truncated, randomHeaderRequest), { maxLength: 8 })),
    withPreface(fc.array(oversized, { maxLength: 2 })),
  ),
  end: fc.constantFrom("close", "reset", "linger"),
});

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function runAttack(address: string, a: Attack): Promise<void> {
  const i = address.lastIndexOf(":");
  const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
  socket.on("error", () => {});
  socket.on("data", () => {});
  return new Promise<void>((resolve) => {
    socket.once("close", () => resolve());
    socket.once("connect", async () => {
      for (const p of a.pieces) {
        if (socket.destroyed) break;
        socket.write(p);
        await new Promise((r) => setImmediate(r));
      }
      if (a.end === "close") socket.end();
      else if (a.end === "reset") socket.resetAndDestroy();
      // "linger": left open; the server's handshake, frame or idle limits must cut it off.
    });
  });
}

test(`network fuzz: ${CONNECTIONS} hostile connections (seed ${seed}); good calls keep their latency`, async () => {
  const logs: string[] = [];
  const registry = createMemoryRegistry();
  const service = newService({
    name: "target",
    registry,
    transport: createTcpTransport({
      handshakeTimeoutMs: 500,
      frameTimeoutMs: 500,
      idleTimeoutMs: 1000,
      log: (m) => logs.push(m),
    }),
  }).handle(new Echo());
  await service.start();
  cleanups.push(() => service.stop());
  const client = newClient({ registry, retries: 0, transport: createTcpTransport() });
  cleanups.push(() => client.close());
  const good = async () => {
    const t0 = performance.now();
    const out = await client.call(background(), newRequest("target", "Echo.echo", { ok: true }), {
      address: service.address,
      requestTimeoutMs: 3000,
    });
    assert.deepEqual(out, { ok: true });
    return performance.now() - t0;
  };

  const baseline: number[] = [];
  for (let k = 0; k < 30; k++) baseline.push(await good());
  baseline.sort((a, b) => a - b);
  const normal = baseline[Math.floor(baseline.length * 0.9)]!;

  const attacks = fc.sample(attack, { numRuns: CONNECTIONS, seed });
  const during: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < attacks.length) {
      await runAttack(service.address, attacks[next++]!);
      during.push(await good());
    }
  };
  await within(
    Promise.all(Array.from({ length: CONCURRENT }, worker)),
    30_000,
    `${CONNECTIONS} hostile connections to be closed (by themselves or by the server's limits)`,
  );

  const afterwards: number[] = [];
  for (let k = 0; k < 30; k++) afterwards.push(await good());
  afterwards.sort((a, b) => a - b);
  const p90 = afterwards[Math.floor(afterwards.length * 0.9)]!;
  // Generous: two shared cores; the point is "normal", not a benchmark.
  assert.ok(
    p90 < Math.max(50, normal * 10),
    `p90 after the attack ${p90.toFixed(1)} ms vs ${normal.toFixed(1)} ms before`,
  );
  assert.equal(during.length, CONNECTIONS, "a good call failed during the attack");
  // Rate-limited logging: a few lines per kind, not one per hostile connection or frame.
  assert.ok(logs.length < CONNECTIONS / 3, `${logs.length} log lines for ${CONNECTIONS} hostile connections`);
});
