// CPU time per call, client and server in one process: steadier than req/s on a busy machine
// (it counts CPU spent, not wall time). Usage: node bench/cpu-per-call.mjs [calls] [inflight]
import { connect, createServer } from "node:net";
import { background, createMemoryRegistry, newClient, newRequest, newService } from "tsmicro";

const CALLS = Number(process.argv[2] ?? 200_000);
const INFLIGHT = Number(process.argv[3] ?? 64);
const body = { data: "x".repeat(90) };

async function measure(label, call) {
  for (let i = 0; i < 2000; i++) await call(); // warm-up
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let left = CALLS;
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (left-- > 0) await call();
    }),
  );
  const cpu = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  console.log(
    `${label.padEnd(10)} ${((cpu.user + cpu.system) / CALLS).toFixed(2)} µs CPU/call, ${((CALLS / wall) * 1000).toFixed(0)} calls/s in one process`,
  );
}

// tsmicro
const service = newService({ name: "echo", registry: createMemoryRegistry() });
service.handle(
  new (class Echo {
    async Echo(_ctx, req) {
      return req;
    }
  })(),
);
await service.start();
const client = newClient({ registry: createMemoryRegistry(), poolSize: 1 });
await measure("tsmicro", () =>
  client.call(background(), newRequest("echo", "Echo.Echo", body), { address: service.address }),
);
await client.close();
await service.stop();

// raw: 4-byte length + 4-byte id + JSON payload, echoed back, pipelined on one socket
const server = createServer((s) => {
  let buf = Buffer.alloc(0);
  s.on("data", (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    const out = [];
    let o = 0;
    while (buf.length - o >= 8) {
      const n = buf.readUInt32BE(o);
      if (buf.length - o < 8 + n) break;
      out.push(buf.subarray(o, o + 8 + n));
      o += 8 + n;
    }
    buf = buf.subarray(o);
    if (out.length) s.write(Buffer.concat(out));
  });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const sock = connect(server.address().port, "127.0.0.1");
await new Promise((r) => sock.once("connect", r));
const pending = new Map();
let nextId = 0;
let rbuf = Buffer.alloc(0);
sock.on("data", (d) => {
  rbuf = rbuf.length ? Buffer.concat([rbuf, d]) : d;
  let o = 0;
  while (rbuf.length - o >= 8) {
    const n = rbuf.readUInt32BE(o);
    if (rbuf.length - o < 8 + n) break;
    const id = rbuf.readUInt32BE(o + 4);
    const r = pending.get(id);
    pending.delete(id);
    r(JSON.parse(rbuf.toString("utf8", o + 8, o + 8 + n)));
    o += 8 + n;
  }
  rbuf = rbuf.subarray(o);
});
let batch = [];
let scheduled = false;
const flush = () => {
  scheduled = false;
  sock.write(batch.length === 1 ? batch[0] : Buffer.concat(batch));
  batch = [];
};
await measure(
  "raw",
  () =>
    new Promise((resolve) => {
      const p = Buffer.from(JSON.stringify(body));
      const f = Buffer.allocUnsafe(8 + p.length);
      f.writeUInt32BE(p.length, 0);
      const id = nextId++;
      f.writeUInt32BE(id, 4);
      p.copy(f, 8);
      pending.set(id, resolve);
      batch.push(f);
      if (!scheduled) {
        scheduled = true;
        process.nextTick(flush);
      }
    }),
);
sock.destroy();
server.close();
