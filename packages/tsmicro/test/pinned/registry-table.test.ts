/**
 * Pinned behaviours of the registry's row table (registry/table.ts), shared by the memory and
 * local registries: rows are copies, one per node; what counts as a change; a refused row seen
 * as the delete of its node; the diff's events and their order; grouping that drops refused
 * rows; rows read back from storage (defaults, overrides, the expiry rule); liveness at the edge.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RegistryRow, Service } from "../../src/registry/registry.js";
import {
  diff,
  isLive,
  nodeDeleteEvent,
  parseRegistryRow,
  registryEventOf,
  registryRowsOf,
  rowKey,
  sameRow,
  servicesOfRows,
  type Table,
} from "../../src/registry/table.js";
import { captureRefusals } from "../support/refusals.js";

const svc = (over: Partial<Service> = {}): Service => ({
  name: "greeter",
  version: "1",
  metadata: { team: "a" },
  endpoints: [{ name: "G.hello", metadata: { x: "1" } }],
  nodes: [
    { id: "n1", address: "127.0.0.1:1", metadata: { zone: "z1" } },
    { id: "n2", address: "127.0.0.1:2", metadata: {} },
  ],
  ...over,
});

const table = (rows: RegistryRow[]): Table =>
  new Map(rows.map((r) => [rowKey(r.name, r.version, r.node.id), r]));

describe("registry table (pinned)", () => {
  const logged = captureRefusals();

  it("rowKey joins name, version and node id with NUL", () => {
    assert.equal(rowKey("a", "1", "n"), "a\u00001\u0000n");
  });

  it("registryRowsOf: one row per node, each a copy, with its expiry", () => {
    const s = svc();
    const rows = registryRowsOf(s, 1234);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0], {
      name: "greeter",
      version: "1",
      metadata: { team: "a" },
      endpoints: [{ name: "G.hello", metadata: { x: "1" } }],
      node: { id: "n1", address: "127.0.0.1:1", metadata: { zone: "z1" } },
      expiresAt: 1234,
    });
    s.metadata.team = "changed";
    s.nodes[0]!.metadata.zone = "changed";
    s.endpoints[0]!.name = "changed";
    assert.equal(rows[0]!.metadata.team, "a");
    assert.equal(rows[0]!.node.metadata.zone, "z1");
    assert.equal(rows[0]!.endpoints[0]!.name, "G.hello");
  });

  it("sameRow: the address, node metadata, service metadata and endpoints count; the expiry does not", () => {
    const [a] = registryRowsOf(svc(), 1);
    const same = (over: Partial<Service>, expiresAt = 1) =>
      sameRow(a!, registryRowsOf(svc(over), expiresAt)[0]!);
    assert.equal(same({}, 999), true);
    assert.equal(same({ nodes: [{ id: "n1", address: "127.0.0.1:9", metadata: { zone: "z1" } }] }), false);
    assert.equal(same({ nodes: [{ id: "n1", address: "127.0.0.1:1", metadata: { zone: "z2" } }] }), false);
    assert.equal(same({ metadata: { team: "b" } }), false);
    assert.equal(same({ endpoints: [] }), false);
  });

  it("registryEventOf: a valid row is its service with that one node; a refused one is the delete of its node", () => {
    const [row] = registryRowsOf(svc(), 0);
    assert.deepEqual(registryEventOf("update", row!), {
      type: "update",
      service: {
        name: "greeter",
        version: "1",
        metadata: { team: "a" },
        endpoints: [{ name: "G.hello", metadata: { x: "1" } }],
        nodes: [{ id: "n1", address: "127.0.0.1:1", metadata: { zone: "z1" } }],
      },
    });
    const bad = { ...row!, node: { ...row!.node, address: "http://evil:80" } };
    assert.deepEqual(registryEventOf("create", bad), nodeDeleteEvent("greeter", "1", "n1"));
    // A row with no node at all (a corrupt backend entry) is still reported, not a TypeError.
    const { node: _, ...nodeless } = row!;
    assert.deepEqual(
      registryEventOf("create", nodeless as never),
      nodeDeleteEvent("greeter", "1", "undefined"),
    );
    assert.deepEqual(nodeDeleteEvent("s", "v", "id"), {
      type: "delete",
      service: {
        name: "s",
        version: "v",
        metadata: {},
        endpoints: [],
        nodes: [{ id: "id", address: "", metadata: {} }],
      },
    });
    assert.equal(logged.length, 2, "each refusal is logged");
  });

  it("diff: creates and updates first, then deletes; unchanged rows give nothing", () => {
    const [n1, n2] = registryRowsOf(svc(), 0);
    const [n3] = registryRowsOf(svc({ nodes: [{ id: "n3", address: "127.0.0.1:3", metadata: {} }] }), 0);
    const moved = { ...n2!, node: { ...n2!.node, address: "127.0.0.1:22" } };
    const events = diff(table([n1!, n2!]), table([n3!, moved, n1!]));
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.service.nodes[0]!.id}`),
      ["create n3", "update n2"],
    );
    assert.deepEqual(
      diff(table([n1!, n2!]), table([n2!])).map((e) => `${e.type} ${e.service.nodes[0]!.id}`),
      ["delete n1"],
    );
    assert.deepEqual(
      diff(table([n1!]), table([{ ...n1!, expiresAt: 99 }])),
      [],
      "a new expiry alone is no change",
    );
  });

  it("servicesOfRows: one service per name and version, nodes in row order, refused rows left out", () => {
    const rows = [
      ...registryRowsOf(svc(), 0),
      ...registryRowsOf(
        svc({ version: "2", nodes: [{ id: "n9", address: "127.0.0.1:9", metadata: {} }] }),
        0,
      ),
      ...registryRowsOf(svc({ nodes: [{ id: "bad", address: "nope", metadata: {} }] }), 0),
    ];
    const services = servicesOfRows(rows);
    assert.deepEqual(
      services.map((s) => `${s.name}@${s.version}: ${s.nodes.map((n) => n.id).join(",")}`),
      ["greeter@1: n1,n2", "greeter@2: n9"],
    );
    services[0]!.nodes[0]!.metadata.zone = "changed";
    services[0]!.metadata.team = "changed";
    assert.equal(rows[0]!.node.metadata.zone, "z1", "services are copies of the rows");
    assert.equal(rows[0]!.metadata.team, "a");
  });

  it("parseRegistryRow: JSON text or an object; foreign values are undefined, never thrown", () => {
    const future = Date.now() + 60_000;
    const stored = { name: "s", version: "2", node: { id: "n", address: "127.0.0.1:1" }, expiresAt: future };
    assert.deepEqual(parseRegistryRow(JSON.stringify(stored)), {
      name: "s",
      version: "2",
      metadata: {},
      endpoints: [],
      node: { id: "n", address: "127.0.0.1:1", metadata: {} },
      expiresAt: future,
    });
    assert.equal(parseRegistryRow(stored)?.name, "s");
    for (const foreign of [
      "{not json",
      "null",
      "42",
      JSON.stringify({ name: "s" }),
      JSON.stringify({ node: { id: "n" } }),
    ])
      assert.equal(parseRegistryRow(foreign, future), undefined, foreign);
    const sparse = parseRegistryRow({ name: "s", version: 3, endpoints: "x", node: { id: "n" } }, future);
    assert.equal(sparse?.version, "", "a version that is not a string is empty");
    assert.deepEqual(sparse?.endpoints, []);
    assert.equal(sparse?.node.address, "");
    const kept = parseRegistryRow({
      ...stored,
      metadata: { a: "1" },
      endpoints: [{ name: "e" }],
      node: { id: "n", address: 5, metadata: { b: "2" } },
    });
    assert.deepEqual(kept?.metadata, { a: "1" });
    assert.deepEqual(kept?.endpoints, [{ name: "e" }]);
    assert.deepEqual(kept?.node, { id: "n", address: "5", metadata: { b: "2" } });
  });

  it("parseRegistryRow: the given expiry replaces the stored one; a row that never expires is refused unless the store expires it", () => {
    const soon = Date.now() + 1000;
    const forever = { name: "s", node: { id: "n", address: "127.0.0.1:1" }, expiresAt: 0 };
    assert.equal(parseRegistryRow(forever), undefined);
    assert.equal(logged.length, 1, "the refusal is logged");
    assert.match(logged[0]!, /never expires/);
    assert.equal(
      parseRegistryRow({ ...forever, expiresAt: "soon" })?.expiresAt,
      undefined,
      "no expiry: refused",
    );
    assert.equal(parseRegistryRow(forever, soon)?.expiresAt, soon);
    assert.equal(parseRegistryRow(forever, undefined, true)?.expiresAt, 0, "an etcd lease expires it");
    assert.equal(
      parseRegistryRow({ ...forever, expiresAt: Date.now() + 7_200_000 }),
      undefined,
      "two hours ahead",
    );
  });

  it("isLive: no expiry, or one still ahead; a row expiring exactly now is gone", () => {
    const [r] = registryRowsOf(svc(), 0);
    assert.equal(isLive(r!, 5000), true);
    assert.equal(isLive({ ...r!, expiresAt: 5001 }, 5000), true);
    assert.equal(isLive({ ...r!, expiresAt: 5000 }, 5000), false);
  });
});
