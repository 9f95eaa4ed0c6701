// The `fallback` call option answers in place of a call that finally failed (after its
// retries), with the error and the request, and is not used when the call succeeds. Real
// services on loopback; through a plain call and through a contract's typed proxy.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { defineContract, unary } from "../src/contract/contract.js";
import { createServiceProxy } from "../src/contract/proxy.js";
import { Code, internalServerError, type MicroError, serviceUnavailable } from "../src/errors.js";
import { fixture, rejection, within } from "./helpers.js";

const PricesApi = defineContract("Prices", {
  quote: unary<{ sku: string }, { sku: string; cents: number; cached?: boolean }>({ idempotent: true }),
});

describe("fallback", () => {
  const f = fixture();
  after(() => f.close());

  let runs = 0;
  let failing = true;
  class PricesHandler {
    async quote(_ctx: unknown, req: { sku: string }) {
      runs++;
      if (failing) throw serviceUnavailable("prices", `price table for ${req.sku} is down`);
      return { sku: req.sku, cents: 199 };
    }
  }

  /** Serves the contract's endpoint, named "Prices.quote" after the class. */
  class Prices {
    async quote(_ctx: unknown, req: { sku: string }) {
      if (failing) throw internalServerError("prices", `quote ${req.sku} failed`);
      return { sku: req.sku, cents: 250 };
    }
  }

  it("answers a call that failed after its retries, with the error and the request", async () => {
    await f.start("prices", [new PricesHandler(), new Prices()]);
    const c = f.client({ retries: 2, backoff: () => 1 });
    runs = 0;
    failing = true;
    const seen: { code: number; detail: string; body: unknown }[] = [];
    const r = await within(
      c.call<{ sku: string; cents: number; cached: boolean }>(
        background(),
        newRequest("prices", "PricesHandler.quote", { sku: "A1" }),
        {
          idempotent: true,
          fallback: (e, req) => {
            seen.push({ code: e.code, detail: e.detail, body: req.body });
            return { sku: (req.body as { sku: string }).sku, cents: 0, cached: true };
          },
        },
      ),
      10_000,
      "the call with a fallback",
    );
    assert.deepEqual(r, { sku: "A1", cents: 0, cached: true });
    assert.equal(runs, 3, "the fallback came after the first attempt and both retries");
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.code, Code.ServiceUnavailable);
    assert.match(seen[0]!.detail, /price table for A1 is down/);
    assert.deepEqual(seen[0]!.body, { sku: "A1" });

    // Without a fallback the same call fails: the fallback above is what answered.
    const e = await rejection(
      c.call(background(), newRequest("prices", "PricesHandler.quote", { sku: "A1" })),
    );
    assert.equal(e.code, Code.ServiceUnavailable);
  });

  it("is not used when the call succeeds, and may throw to fail after all", async () => {
    const c = f.client({ retries: 0 });
    failing = false;
    let used = 0;
    const r = await c.call(background(), newRequest("prices", "PricesHandler.quote", { sku: "B2" }), {
      fallback: () => {
        used++;
        return { sku: "B2", cents: 0 };
      },
    });
    assert.deepEqual(r, { sku: "B2", cents: 199 });
    assert.equal(used, 0);

    failing = true;
    const e = await rejection(
      c.call(background(), newRequest("prices", "PricesHandler.quote", { sku: "B2" }), {
        fallback: async (err: MicroError) => {
          throw err.with({ detail: `no fallback price either: ${err.detail}` });
        },
      }),
    );
    assert.match(e.detail, /^no fallback price either: price table for B2 is down/);
  });

  it("through a contract: typed by the endpoint, both paths", async () => {
    const prices = createServiceProxy(f.client({ retries: 0 }), PricesApi, "prices");
    failing = true;
    const fromFallback = await prices.quote(
      background(),
      { sku: "C3" },
      { fallback: (e, req) => ({ sku: req.sku, cents: e.code, cached: true }) },
    );
    assert.deepEqual(fromFallback, { sku: "C3", cents: 500, cached: true });
    failing = false;
    const real = await prices.quote(
      background(),
      { sku: "C3" },
      { fallback: () => ({ sku: "never", cents: -1 }) },
    );
    assert.deepEqual(real, { sku: "C3", cents: 250 });
  });
});
