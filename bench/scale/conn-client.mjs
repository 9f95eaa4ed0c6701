// One of the connection-scale bench's client processes: dials `count` connections to the
// server with the tsmicro TCP transport (each its own socket, as `count` separate clients
// would hold), then on request makes one call per connection per second (staggered) and
// reports the latencies. Everything dials 127.0.0.1 only.
import { createTcpTransport } from "tsmicro/plugin";
import { childConfig, report } from "../lib/stats.mjs";
import { memory, serveJobs } from "./child.mjs";

const { address, count, batch = 200 } = childConfig();
const transport = createTcpTransport({ log: () => {} });
/** A signal that never aborts: these calls are bounded by their own timeout below. */
const never = { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} };
const conns = [];
const base = memory();
report({ type: "ready", pid: process.pid });

const body = Buffer.from(JSON.stringify({ data: "a".repeat(100) }));
const call = (conn) =>
  conn.request(
    {
      headers: {
        service: "scale",
        endpoint: "Scale.Echo",
        contentType: "application/json",
        timeoutMs: 10_000,
      },
      body,
    },
    never,
  );

await serveJobs(
  {
    async dial() {
      const started = performance.now();
      for (let i = 0; i < count; i += batch) {
        const n = Math.min(batch, count - i);
        conns.push(
          ...(await Promise.all(
            Array.from({ length: n }, () => transport.dial(address, { timeoutMs: 10_000 })),
          )),
        );
      }
      return { dialed: conns.length, seconds: (performance.now() - started) / 1000 };
    },
    mem: () => ({ ...memory(), base, usable: conns.filter((c) => c.usable).length }),
    /** Each connection calls once per second for `seconds`, its first call at a random offset. */
    async calls({ seconds }) {
      const latencies = [];
      let errors = 0;
      let firstError;
      const end = performance.now() + seconds * 1000;
      await Promise.all(
        conns.map(async (conn) => {
          await new Promise((r) => setTimeout(r, Math.random() * 1000));
          while (performance.now() < end) {
            const t0 = performance.now();
            try {
              const res = await call(conn);
              if (res.body.length !== body.length) throw new Error("wrong echo");
              latencies.push(Math.round((performance.now() - t0) * 1000));
            } catch (err) {
              errors++;
              firstError ??= String(err?.message ?? err);
            }
            await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - t0))));
          }
        }),
      );
      return { latencies, errors, firstError };
    },
  },
  report,
  async () => {
    for (const c of conns) c.close();
  },
);
