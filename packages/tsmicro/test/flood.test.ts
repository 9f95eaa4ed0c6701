/**
 * Flood: many connections send requests as fast as the socket takes them and never read an
 * answer. The server (its own process, so its memory is measured alone) stops reading from
 * each once its unsent answers pass the limit: its memory stays bounded, the attackers are
 * throttled by TCP, and a good client is served meanwhile. Negative control: without the
 * limits the same flood grows the server's memory far more.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { after, test } from "node:test";
import { newClient } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { createTcpTransport } from "../src/transport/tcp.js";
import { PREFACE, requestFrame, within } from "./support/raw-peer.js";

const ATTACKERS = 10;
const FLOOD_MS = 4000;
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill("SIGTERM");
});

async function startServer(limits: object): Promise<{ address: string; pid: number }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      new URL("./support/flood-server.mts", import.meta.url).pathname,
      JSON.stringify(limits),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  const address = await within(
    new Promise<string>((resolve, reject) => {
      child.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim()));
      child.once("exit", (code) => reject(new Error(`flood server exited with ${code}`)));
    }),
    15_000,
    "the flood server to print its address",
  );
  return { address, pid: child.pid! };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) / 1024;
}

/** Writes request batches while the socket accepts them; never reads. Returns bytes accepted by the kernel. */
function flood(address: string, until: number): Promise<{ socket: Socket; written: () => number }> {
  const i = address.lastIndexOf(":");
  const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
  socket.on("error", () => {});
  // 128 requests of ~2 KiB: one write.
  const batch = Buffer.concat(
    Array.from({ length: 128 }, (_, k) =>
      requestFrame(k + 1, "flood", "Echo.echo", { pad: "x".repeat(2048) }),
    ),
  );
  return new Promise((resolve) => {
    socket.once("connect", () => {
      socket.write(PREFACE);
      socket.pause(); // never read an answer
      const pump = () => {
        while (Date.now() < until && socket.write(batch)) {}
        if (Date.now() < until) socket.once("drain", pump);
      };
      pump();
      resolve({ socket, written: () => socket.bytesWritten - socket.writableLength });
    });
  });
}

async function run(limits: object) {
  const { address, pid } = await startServer(limits);
  const client = newClient({ registry: createMemoryRegistry(), retries: 0, transport: createTcpTransport() });
  const req = newRequest("flood", "Echo.echo", { ok: 1 });
  await client.call(background(), req, { address });
  const before = rssMb(pid);
  const until = Date.now() + FLOOD_MS;
  const attackers = await Promise.all(Array.from({ length: ATTACKERS }, () => flood(address, until)));
  let peak = before;
  const latencies: number[] = [];
  const writtenAt: number[] = [];
  while (Date.now() < until) {
    const t0 = performance.now();
    await client.call(background(), req, { address, requestTimeoutMs: 5000 });
    latencies.push(performance.now() - t0);
    peak = Math.max(peak, rssMb(pid));
    writtenAt.push(attackers.reduce((n, a) => n + a.written(), 0));
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const a of attackers) a.socket.destroy();
  await client.close();
  // Bytes the attackers got in during the last second of the flood.
  const lastSecond = writtenAt.at(-1)! - writtenAt[Math.max(0, writtenAt.length - 10)]!;
  return { growth: peak - before, latencies, writtenAt, lastSecond };
}

test(`flood: ${ATTACKERS} connections that never read; server memory bounded, attackers throttled, good calls served`, async () => {
  const bounded = await run({ maxWriteBufferBytes: 256 * 1024, maxInflightPerConnection: 64 });
  const worst = Math.max(...bounded.latencies);
  const accepted = bounded.writtenAt.at(-1)! / 1024 / 1024;
  const perSample = bounded.writtenAt.map((b) => (b / 1e6).toFixed(0)).join(" ");
  console.log(`flood (limits): MB accepted from the attackers, sample by sample: ${perSample}`);
  console.log(
    `flood (limits): RSS +${bounded.growth.toFixed(0)} MB, ${accepted.toFixed(0)} MB accepted, worst good call ${worst.toFixed(0)} ms`,
  );
  assert.ok(bounded.growth < 150, `server RSS grew ${bounded.growth.toFixed(0)} MB under the flood`);
  assert.ok(worst < 2000, `a good call took ${worst.toFixed(0)} ms during the flood`);
  // Throttled: in the last second the attackers got (almost) nothing more in.
  const { lastSecond } = bounded;
  assert.ok(
    lastSecond < 0.1 * bounded.writtenAt.at(-1)!,
    `attackers still pushed ${(lastSecond / 1e6).toFixed(1)} MB in the last second`,
  );

  const unbounded = await run({ maxWriteBufferBytes: 2 ** 40, maxInflightPerConnection: 2 ** 30 });
  console.log(
    `flood (no limits): RSS +${unbounded.growth.toFixed(0)} MB, ${(unbounded.lastSecond / 1e6).toFixed(0)} MB taken in the last second`,
  );
  // Without the limits the server keeps reading (and holding) whatever it is sent; how much
  // depends on the CPU it gets on a shared machine, so the control asserts the trend.
  assert.ok(
    unbounded.lastSecond > Math.max(5e6, 5 * lastSecond),
    `negative control: without limits the attackers got only ${(unbounded.lastSecond / 1e6).toFixed(1)} MB in during the last second`,
  );
  assert.ok(
    unbounded.growth > bounded.growth,
    `negative control: without limits the server grew ${unbounded.growth.toFixed(0)} MB, no more than with them`,
  );
});
