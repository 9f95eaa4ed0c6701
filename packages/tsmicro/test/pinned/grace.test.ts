/**
 * Pinned behaviours of the selector's grace (selector/grace.ts), driven with explicit times:
 * which nodes are kept and for how long, per version, what `back`, `drop` and `clear` forget,
 * and the sweep that bounds the memory of services nobody asks for again.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Service } from "../../src/registry/registry.js";
import { createGrace } from "../../src/selector/grace.js";
import { node, service } from "../support/selector-nodes.js";

/** kept() as "version:id" strings, in the order returned. */
const ids = (services: Service[] | undefined): string[] | undefined =>
  services?.flatMap((s) => s.nodes.map((n) => `${s.version}:${n.id}`));

describe("selector grace (pinned)", { timeout: 10_000 }, () => {
  it("keeps the nodes that left for graceMs exactly: kept at graceMs − 1, gone at graceMs", () => {
    const g = createGrace(1000);
    g.left("a", [service("a", [node("n1"), node("n2")], "1", { zone: "x" })], 5000);
    assert.equal(g.size, 1);
    const kept = g.kept("a", 5999);
    assert.deepEqual(ids(kept), ["1:n1", "1:n2"]);
    // The service's version and metadata come with the nodes, for the selector's filters.
    assert.deepEqual(kept?.[0]?.metadata, { zone: "x" });
    assert.equal(g.kept("a", 6000), undefined, "at graceMs the nodes are no longer kept");
    assert.equal(g.size, 0, "a service whose kept nodes all expired is forgotten");
    assert.equal(g.kept("other", 5000), undefined);
  });

  it("a grace of 0, negative or NaN keeps nothing", () => {
    for (const ms of [0, -1, Number.NaN]) {
      const g = createGrace(ms);
      g.left("a", [service("a", [node("n1")])], 1000);
      assert.equal(g.kept("a", 1000), undefined, `graceMs ${ms}`);
      assert.equal(g.size, 0, `graceMs ${ms}`);
    }
  });

  it("keeps the nodes of every version that left, each under its own version", () => {
    const g = createGrace(1000);
    g.left("a", [service("a", [node("n1")], "1"), service("a", [node("n2")], "2")], 0);
    const kept = g.kept("a", 10);
    assert.deepEqual(ids(kept), ["1:n1", "2:n2"]);
    assert.equal(kept?.length, 2, "one service per version");
  });

  it("nodes of one version come back as one service, not one service per node", () => {
    const g = createGrace(1000);
    g.left("a", [service("a", [node("n1"), node("n2"), node("n3")], "1")], 0);
    const kept = g.kept("a", 10);
    assert.equal(kept?.length, 1);
    assert.deepEqual(
      kept?.[0]?.nodes.map((n) => n.id),
      ["n1", "n2", "n3"],
    );
  });

  it("a node that leaves again restarts its grace (the newest leave counts)", () => {
    const g = createGrace(1000);
    g.left("a", [service("a", [node("n1")])], 0);
    g.left("a", [service("a", [node("n2")])], 500);
    g.left("a", [service("a", [node("n1")])], 600);
    assert.deepEqual(
      ids(g.kept("a", 1550)),
      ["1:n1"],
      "n2 left at 500 and expired at 1500; n1 left again at 600",
    );
  });

  it("deleted(): keeps only the deleted nodes, taken from the cached service of the same version", () => {
    const g = createGrace(1000);
    const cached = [
      service("a", [node("n1"), node("n2")], "1", { v: "one" }),
      service("a", [node("n3")], "2", { v: "two" }),
    ];
    g.deleted(cached, service("a", [node("n3")], "2"), 0);
    const kept = g.kept("a", 10);
    assert.deepEqual(ids(kept), ["2:n3"]);
    assert.deepEqual(kept?.[0]?.metadata, { v: "two" }, "the cached service's metadata, not the event's");
    g.deleted(cached, service("a", [node("n1")], "1"), 20);
    assert.deepEqual(ids(g.kept("a", 30)), ["2:n3", "1:n1"], "n2 did not leave: not kept");
    g.deleted(cached, service("a", [node("n9")], "3"), 40);
    assert.deepEqual(
      ids(g.kept("a", 50)),
      ["2:n3", "1:n1"],
      "a version the cache does not hold adds nothing",
    );
  });

  it("back(): nodes registered again are no longer kept; the service is forgotten with its last node", () => {
    const g = createGrace(1000);
    g.left("a", [service("a", [node("n1"), node("n2")])], 0);
    g.back("a", [node("n1")]);
    assert.deepEqual(ids(g.kept("a", 10)), ["1:n2"]);
    assert.equal(g.size, 1);
    g.back("a", [node("n2")]);
    assert.equal(g.size, 0);
    assert.equal(g.kept("a", 10), undefined);
    g.back("unknown", [node("n1")]); // nothing kept for it: no throw
  });

  it("drop(): says whether the node was kept, and forgets the service with its last node", () => {
    const g = createGrace(1000);
    g.left("a", [service("a", [node("n1"), node("n2")])], 0);
    assert.equal(g.drop("a", "nX"), false, "not a kept node");
    assert.equal(g.drop("b", "n1"), false, "not a kept service");
    assert.equal(g.drop("a", "n1"), true);
    assert.equal(g.drop("a", "n1"), false, "already dropped");
    assert.equal(g.size, 1);
    assert.deepEqual(ids(g.kept("a", 10)), ["1:n2"]);
    assert.equal(g.drop("a", "n2"), true);
    assert.equal(g.size, 0);
  });

  it("clear() forgets everything", () => {
    const g = createGrace(1000);
    g.left("a", [service("a", [node("n1")])], 0);
    g.left("b", [service("b", [node("n2")])], 0);
    g.clear();
    assert.equal(g.size, 0);
    assert.equal(g.kept("a", 10), undefined);
  });

  it("sweeps expired services once 64 are kept, then not again until twice as many are", () => {
    const g = createGrace(1000);
    for (let i = 0; i < 64; i++) g.left(`s${i}`, [service(`s${i}`, [node(`n${i}`)])], 0);
    assert.equal(g.size, 64);
    // 64 kept: this leave sweeps first; none has expired yet at 500.
    g.left("s64", [service("s64", [node("n64")])], 500);
    assert.equal(g.size, 65);
    // Below the next sweep mark (twice the 64 kept at the sweep): expired services stay until asked for.
    g.left("s65", [service("s65", [node("n65")])], 1500);
    assert.equal(g.size, 66, "no sweep below 128 services");
    for (let i = 66; i < 128; i++) g.left(`s${i}`, [service(`s${i}`, [node(`n${i}`)])], 1500);
    assert.equal(g.size, 128);
    // 128 kept: this leave sweeps the 65 that left at 0 and 500 (expired at 1500).
    g.left("s128", [service("s128", [node("n128")])], 1500);
    assert.equal(g.size, 64, "s65..s128 are left");
    assert.equal(g.kept("s0", 1500), undefined);
    assert.deepEqual(ids(g.kept("s65", 1500)), ["1:n65"]);
  });

  it("below 64 kept services, a leave does not sweep the others", () => {
    const g = createGrace(1000);
    for (let i = 0; i < 10; i++) g.left(`s${i}`, [service(`s${i}`, [node(`n${i}`)])], 0);
    g.left("late", [service("late", [node("nl")])], 5000);
    assert.equal(g.size, 11, "the expired ten stay until someone asks for them");
  });
});
