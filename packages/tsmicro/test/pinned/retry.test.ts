/**
 * Pinned behaviours of the built-in retry rule (client/retry.ts, the table in docs/retries.md)
 * and of the call-depth guard (client/depth.ts), as pure functions.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkDepth } from "../../src/client/depth.js";
import { defaultRetry } from "../../src/client/retry.js";
import { background, type Context } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";

const failure = (retryable: boolean, refused = false) =>
  new MicroError({ id: "s", code: 503, detail: "x", retryable, ...(refused ? { refused: true } : {}) });

describe("the built-in retry rule (pinned)", { timeout: 10_000 }, () => {
  it("never retries what is not retryable, whatever else holds", () => {
    for (const reached of [false, true])
      for (const idempotent of [false, true])
        assert.deepEqual(defaultRetry(failure(false), reached, idempotent), { retry: false });
  });

  it("retries a request no handler saw: not sent, or refused before handling", () => {
    assert.deepEqual(defaultRetry(failure(true), false, false), { retry: true });
    assert.deepEqual(defaultRetry(failure(true, true), true, false), { retry: true });
  });

  it("retries a request a handler may have run only for an idempotent endpoint, and says why not otherwise", () => {
    assert.deepEqual(defaultRetry(failure(true), true, true), { retry: true });
    const no = defaultRetry(failure(true), true, false);
    assert.equal(no.retry, false);
    assert.equal(
      no.why,
      "not retried: the request reached the server and the endpoint is not idempotent (mark it idempotent in its contract or with the call option idempotent: true)",
    );
  });
});

describe("the call-depth guard (pinned)", { timeout: 10_000 }, () => {
  const at = (depth: number): Context => ({
    ...background(),
    chain: Array.from({ length: depth }, (_, i) => `s${i}.E.p@n${i}`),
  });

  it("lets a chain shorter than maxCallDepth through, and refuses one at it with a 508 listing the chain", () => {
    checkDepth(at(2), "svc", "call to svc.E.p", 3);
    assert.throws(
      () => checkDepth(at(3), "svc", "call to svc.E.p", 3),
      (e: unknown) => {
        assert.ok(e instanceof MicroError);
        assert.equal(e.code, 508);
        assert.equal(e.id, "svc");
        assert.equal(e.retryable, false);
        assert.deepEqual(e.chain, at(3).chain);
        assert.equal(
          e.detail,
          "call to svc.E.p refused: chain depth 3 reached maxCallDepth 3: s0.E.p@n0 -> s1.E.p@n1 -> s2.E.p@n2",
        );
        return true;
      },
    );
  });
});
