/**
 * The dial deadline (issue 11) is on the deadline helper: `dialTimeoutMs: Infinity` means no
 * dial deadline and a value above 2^31−1 ms is chained, where a bare setTimeout fired after
 * 1 ms (with a TimeoutOverflowWarning) and failed the dial. A small dial timeout still fires:
 * against a loopback listener that never accepts (its process stopped, its accept queue
 * full, so the kernel drops further SYNs).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { isMicroError } from "../src/errors.js";
import { createTcpTransport } from "../src/transport/tcp.js";
import { MAX_TIMER_MS } from "../src/util/deadline.js";
import { fixture, rejection, within } from "./helpers.js";

/** Blocks the event loop: a timer due meanwhile runs before the socket's connect event. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

describe("dial deadline", () => {
  const f = fixture();
  after(() => f.close());
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on("warning", onWarning);
  after(() => process.off("warning", onWarning));

  class Dial {
    async ping() {
      return { ok: true };
    }
  }

  for (const [label, name, timeoutMs] of [
    ["Infinity", "dial-infinite", Number.POSITIVE_INFINITY],
    ["2^31 ms and more", "dial-long", MAX_TIMER_MS + 1000],
  ] as const) {
    it(`dialTimeoutMs ${label} dials a real listener`, async () => {
      const svc = await f.start(name, [new Dial()]);
      const address = svc.record().nodes[0]!.address;
      const transport = createTcpTransport();
      const dialing = transport.dial(address, { timeoutMs });
      // A clamped timer (1 ms) would be due before the connect event is read.
      busy(10);
      const conn = await within(dialing, 5000, `a dial with timeoutMs ${label}`);
      assert.equal(conn.usable, true);
      conn.close(true);
      await conn.closed;
      // Through the client as well.
      const client = f.client({ dialTimeoutMs: timeoutMs, retries: 0 });
      const r = await within(client.call(background(), newRequest(name, "Dial.ping", {})), 5000, "a call");
      assert.deepEqual(r, { ok: true });
      assert.deepEqual(
        warnings.filter((w) => w.startsWith("TimeoutOverflowWarning")),
        [],
      );
    });
  }

  it("a small dial timeout fires against a listener that never accepts", async () => {
    const { child, port } = await stoppedListener();
    const fillers: Socket[] = [];
    try {
      // Fill the accept queue: once a connect no longer completes, SYNs are dropped.
      let full = false;
      for (let i = 0; i < 16 && !full; i++) {
        const s = connect(port, "127.0.0.1");
        s.on("error", () => {});
        fillers.push(s);
        full = !(await new Promise<boolean>((r) => {
          const t = setTimeout(() => r(false), 300);
          s.once("connect", () => {
            clearTimeout(t);
            r(true);
          });
        }));
      }
      assert.ok(full, "negative control: the listener's accept queue filled up (connects hang)");
      const started = Date.now();
      const e = await rejection(
        createTcpTransport().dial(`127.0.0.1:${port}`, { timeoutMs: 200 }),
        5000,
        "the dial to time out",
      );
      assert.ok(isMicroError(e), `a MicroError, got ${String(e)}`);
      assert.equal(e.code, 408);
      assert.match(e.detail, /no connection after 200 ms/);
      assert.ok(Date.now() - started >= 190, "it waited for its deadline");
    } finally {
      for (const s of fillers) s.destroy();
      child.kill("SIGKILL");
    }
  });
});

/** A loopback listener in a child process that is stopped (SIGSTOP), so it accepts nothing. */
async function stoppedListener(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const s=require("net").createServer();s.listen({port:0,host:"127.0.0.1",backlog:1},()=>process.stdout.write(s.address().port+"\\n"))`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await within(
    new Promise<number>((resolve, reject) => {
      child.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
      child.once("exit", (code) => reject(new Error(`the listener exited (${code})`)));
    }),
    10_000,
    "the listener's port",
  );
  child.kill("SIGSTOP");
  return { child, port };
}
