// The pool grows to `poolSize` sockets when calls share a connection, also when they start
// together: every call of a burst takes its connection before any of them has sent (selection
// is awaited), so none sees the connection busy. The redesign of the call path let bursts pile
// onto one socket for good (issue 13's benchmark regression); this pins the growth.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { fixture, within } from "./helpers.js";

class Echo {
  async Echo(_ctx: unknown, req: { n: number }) {
    return req;
  }
}

describe("connection pool", () => {
  const f = fixture();
  after(() => f.close());

  it("a burst of concurrent calls grows the pool up to poolSize, through the selector and to a fixed address", async () => {
    const s = await f.start("echo", [new Echo()]);
    for (const address of [undefined, s.address]) {
      const c = f.client({ poolSize: 4 });
      const burst = () =>
        Promise.all(
          Array.from({ length: 64 }, (_, n) =>
            c.call(
              background(),
              newRequest("echo", "Echo.Echo", { n }),
              address === undefined ? {} : { address },
            ),
          ),
        );
      for (let i = 0; i < 5; i++) await within(burst(), 10_000, `burst ${i + 1} of 64 calls`);
      const { connections } = c.stats();
      const how = address === undefined ? "through the selector" : "to a fixed address";
      assert.ok(connections > 1, `${how}: 5 bursts of 64 calls stayed on ${connections} socket(s)`);
      assert.ok(connections <= 4, `${how}: ${connections} sockets, more than poolSize 4`);
    }
  });

  it("calls one after another share one socket: no growth without sharing", async () => {
    await f.start("echo1", [new Echo()]);
    const c = f.client({ poolSize: 4 });
    for (let n = 0; n < 50; n++)
      await within(c.call(background(), newRequest("echo1", "Echo.Echo", { n })), 5000, `call ${n}`);
    assert.equal(c.stats().connections, 1);
  });

  it("poolSize 1 holds one socket under the same bursts", async () => {
    await f.start("echo2", [new Echo()]);
    const c = f.client({ poolSize: 1 });
    const burst = () =>
      Promise.all(
        Array.from({ length: 64 }, (_, n) => c.call(background(), newRequest("echo2", "Echo.Echo", { n }))),
      );
    for (let i = 0; i < 5; i++) await within(burst(), 10_000, `burst ${i + 1} of 64 calls`);
    assert.equal(c.stats().connections, 1);
  });
});
