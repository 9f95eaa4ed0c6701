/**
 * Pinned behaviours of the selection strategies (selector/strategy.ts): least-in-flight scans
 * forward from its cursor and keeps the first of equally loaded nodes, so over a full turn of
 * the cursor the counts are fixed; cursors start at a random node and never leave the node list.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Node } from "../../src/registry/registry.js";
import { leastInflight, roundRobin } from "../../src/selector/strategy.js";

const nodes: Node[] = ["a", "b", "c", "d"].map((id) => ({ id, address: `127.0.0.1:${id}`, metadata: {} }));

describe("strategies (pinned)", { timeout: 10_000 }, () => {
  it("least in flight: from each start, the first least-loaded node after it, for thousands of picks", () => {
    // a and d busy, b and c equally light. From a, b or d the first light node met is b; from c,
    // c itself. The cursor takes every start once per 4 picks: b 3, c 1.
    const busy = new Map([
      ["a", 5],
      ["b", 1],
      ["c", 1],
      ["d", 5],
    ]);
    const next = leastInflight()(nodes, { inflight: (n) => busy.get(n.id)! });
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const picked = next();
      assert.ok(picked !== undefined, `pick ${i} found no node`);
      counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { b: 3000, c: 1000 });
  });

  it("round robin stays on the list for thousands of picks, each node in turn", () => {
    const next = roundRobin()(nodes, { inflight: () => 0 });
    const first = next();
    const order = nodes.map((n) => n.id);
    let at = order.indexOf(first.id);
    for (let i = 0; i < 4000; i++) {
      at = (at + 1) % order.length;
      assert.equal(next()?.id, order[at], `pick ${i + 1}`);
    }
  });

  it("each new round robin or least-in-flight starts at a random node, so clients do not all start on the first", () => {
    for (const strategy of [roundRobin, leastInflight]) {
      const firsts = new Set<string>();
      for (let i = 0; i < 40; i++) firsts.add(strategy()(nodes, { inflight: () => 0 })().id);
      // 40 starts over 4 nodes all on one: about 1 chance in 10^23.
      assert.ok(firsts.size > 1, `${strategy.name}: every instance started on ${[...firsts]}`);
    }
  });
});
