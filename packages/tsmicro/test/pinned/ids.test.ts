/**
 * Pinned behaviours of a client connection's ids (transport/ids.ts): 32-bit, never 0, wrapping
 * from the largest to 1, and skipping the ids still in use.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freeId, idAfter, MAX_ID } from "../../src/transport/ids.js";

describe("connection ids (pinned)", () => {
  it("count up, and wrap from 2³²−1 to 1, never 0", () => {
    assert.equal(MAX_ID, 2 ** 32 - 1);
    assert.equal(idAfter(1), 2);
    assert.equal(idAfter(MAX_ID - 1), MAX_ID);
    assert.equal(idAfter(MAX_ID), 1);
  });

  it("the first free id from the start, wrapping past the ones in use", () => {
    assert.equal(
      freeId(5, () => false),
      5,
    );
    const used = new Set([5, 6, 8]);
    assert.equal(
      freeId(5, (id) => used.has(id)),
      7,
    );
    const wrapped = new Set([MAX_ID - 1, MAX_ID, 1]);
    assert.equal(
      freeId(MAX_ID - 1, (id) => wrapped.has(id)),
      2,
      "past the top, 0 skipped",
    );
  });
});
