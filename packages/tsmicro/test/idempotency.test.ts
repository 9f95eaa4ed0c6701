// Retries never run a non-idempotent handler twice: a call whose request reached the server
// and then lost its connection is retried only when the endpoint is idempotent (by call option
// or by contract), while a request no handler saw (a closed port, a full queue) is retried
// on any endpoint. The connection is cut by a loopback TCP proxy the test owns.
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { z } from "zod";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { defineContract, unary } from "../src/contract/contract.js";
import { createServiceProxy } from "../src/contract/proxy.js";
import { Code } from "../src/errors.js";
import { delay, fixture, rejection, within } from "./helpers.js";

/** Forwards 127.0.0.1:<port> to `target`; `cut()` destroys every connection through it. */
async function proxy(target: string): Promise<{ address: string; cut(): void; close(): Promise<void> }> {
  const [host, port] = target.split(":") as [string, string];
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(Number(port), host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const a = server.address();
  if (a === null || typeof a === "string") throw new Error("proxy has no TCP address");
  return {
    address: `127.0.0.1:${a.port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("retries and idempotency", () => {
  const f = fixture();
  let closeProxy: () => Promise<void> = async () => {};
  after(async () => {
    await closeProxy();
    await f.close();
  });

  /** A handler with a side effect that cuts the connection of its first run after it acted. */
  let runs = 0;
  let cutFirst: () => void = () => {};
  class Payments {
    async Charge() {
      runs++;
      if (runs === 1) {
        cutFirst();
        await delay(50);
      }
      return { runs };
    }
  }

  it("a non-idempotent endpoint whose connection is cut after the request arrived runs once", async () => {
    const svc = await f.start("payments", [new Payments()]);
    const p = await proxy(svc.address);
    closeProxy = p.close;
    cutFirst = p.cut;
    runs = 0;
    const c = f.client({ retries: 3 });
    const e = await rejection(
      c.call(background(), newRequest("payments", "Payments.Charge", {}), { address: p.address }),
    );
    assert.equal(e.code, Code.ServiceUnavailable, String(e));
    assert.match(e.detail, /not retried: the request reached the server and the endpoint is not idempotent/);
    await delay(100); // a retry, had there been one, would have reached the handler by now
    assert.equal(runs, 1, "the handler ran exactly once");
  });

  it("an idempotent endpoint (call option) is retried and succeeds", async () => {
    runs = 0;
    const c = f.client({ retries: 3 });
    const r = await within(
      c.call<{ runs: number }>(background(), newRequest("payments", "Payments.Charge", {}), {
        address: (await addressOf()).address,
        idempotent: true,
      }),
      10_000,
      "the idempotent call",
    );
    assert.equal(r.runs, 2, "the first run's connection was cut, the retry ran it again");
  });

  it("an endpoint marked idempotent in its contract is retried", async () => {
    const contract = defineContract("Payments", {
      Charge: unary({ request: z.object({}), response: z.object({ runs: z.number() }), idempotent: true }),
    });
    runs = 0;
    const c = f.client({ retries: 3 });
    const pay = createServiceProxy(c, contract, "payments");
    const r = await within(
      pay.Charge(background(), {}, { address: (await addressOf()).address }),
      10_000,
      "the contract call",
    );
    assert.equal(r.runs, 2);
  });

  it("a request no server saw (nothing listens) is retried on a non-idempotent endpoint", async () => {
    runs = 0;
    cutFirst = () => {};
    const svc = f.services[0]!;
    // The first address refuses the dial, the second is the service: a dial failure is always safe.
    const closed = await closedPort();
    const r = await within(
      f
        .client({ retries: 1 })
        .call<{ runs: number }>(background(), newRequest("payments", "Payments.Charge", {}), {
          address: [closed, svc.address],
        }),
      10_000,
      "the call after a refused dial",
    );
    assert.equal(r.runs, 1, "the dial failed, the retry ran the handler once");
  });

  it("a retry predicate decides, with a delay, and sees the built-in verdict", async () => {
    runs = 0;
    const seen: { attempt: number; code: number; byDefault: boolean }[] = [];
    const c = f.client({
      retries: 2,
      retry: (_ctx, _req, attempt, error, byDefault) => {
        seen.push({ attempt, code: error.code, byDefault });
        return 5;
      },
    });
    const r = await within(
      c.call<{ runs: number }>(background(), newRequest("payments", "Payments.Charge", {}), {
        address: (await addressOf()).address,
      }),
      10_000,
      "the call retried by the predicate",
    );
    assert.equal(r.runs, 2);
    assert.deepEqual(seen, [{ attempt: 1, code: 503, byDefault: false }]);
  });

  /** A fresh proxy to the service, cutting the first run's connection. */
  async function addressOf() {
    await closeProxy();
    const p = await proxy(f.services[0]!.address);
    closeProxy = p.close;
    cutFirst = p.cut;
    return p;
  }
});

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const a = s.address();
  if (a === null || typeof a === "string") throw new Error("no TCP address");
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `127.0.0.1:${a.port}`;
}
