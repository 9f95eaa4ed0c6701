/**
 * Pinned behaviours of the registry's record checks (registry/validate.ts), at each bound: a
 * plain host:port address only (ports 1–65535, names up to 253 characters, no `..`), metadata of
 * at most 64 string entries and 16 KiB, names of 1–256 characters without control characters,
 * at most 1,024 endpoints, stored records that expire within an hour; each reason's text, long
 * values clipped, and refusals logged once per node and reason with a bounded memory.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RegistryRow } from "../../src/registry/registry.js";
import {
  checkAddress,
  checkExpiry,
  checkRow,
  DEFAULT_RECORD_LIMITS,
  registryRefusals,
  reportRefusal,
  validRow,
} from "../../src/registry/validate.js";
import { captureRefusals } from "../support/refusals.js";

const row = (over: Partial<RegistryRow> = {}): RegistryRow => ({
  name: "greeter",
  version: "1",
  metadata: {},
  endpoints: [],
  node: { id: "n1", address: "127.0.0.1:8080", metadata: {} },
  expiresAt: 0,
  ...over,
});

const entries = (n: number, valueLength = 1): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v".repeat(valueLength)]));

describe("registry record checks (pinned)", () => {
  it("the limits", () => {
    assert.deepEqual(DEFAULT_RECORD_LIMITS, {
      maxTtlMs: 3_600_000,
      maxMetadataEntries: 64,
      maxMetadataBytes: 16_384,
      maxEndpoints: 1024,
      maxNameLength: 256,
    });
  });

  it("addresses: host:port with a port 1–65535, a name, IPv4 or [IPv6]; each refusal says why", () => {
    for (const ok of ["127.0.0.1:1", "127.0.0.1:65535", "[::1]:8080", "my-host_1.example:80", "a:80"])
      assert.equal(checkAddress(ok), undefined, ok);
    assert.equal(checkAddress(42), "address is not a string");
    assert.equal(checkAddress("localhost"), `address "localhost" is not host:port`);
    assert.equal(checkAddress(":80"), `address ":80" is not host:port`);
    for (const port of ["0", "65536", "123456", "8a", "", "x80", "1e3", " 80", "0x50"])
      assert.equal(checkAddress(`h:${port}`), `address "h:${port}" has no port 1-65535`, port);
    for (const bad of ["http://h:80", "a..b:80", "a b:80", "-a:80", "a-:80", "user@h:80", "h/x:80"])
      assert.equal(
        checkAddress(bad),
        `address "${bad}" is not host:port (a name, IPv4 or [IPv6] address)`,
        bad,
      );
    const longest = `a${"b".repeat(251)}c`;
    assert.equal(checkAddress(`${longest}:80`), undefined, "a 253-character name");
    assert.match(checkAddress(`${longest}d:80`) ?? "", /is not host:port \(a name/, "a 254-character name");
  });

  it("a long value is clipped to 80 characters in the reason", () => {
    const long = `${"x".repeat(100)}:0`;
    assert.equal(checkAddress(long), `address "${"x".repeat(80)}…" has no port 1-65535`);
    const name80 = "y".repeat(80);
    assert.equal(
      checkAddress(`${name80}`),
      `address "${name80}" is not host:port`,
      "80 characters are kept whole",
    );
  });

  it("metadata: an object of strings, at most 64 entries and 16 KiB, per node and per service", () => {
    assert.equal(checkRow(row({ metadata: entries(64) })), undefined);
    assert.equal(checkRow(row({ metadata: entries(65) })), "service metadata has more than 64 entries");
    const node = (metadata: unknown) =>
      row({ node: { id: "n1", address: "127.0.0.1:1", metadata } as never });
    assert.equal(checkRow(node(entries(65))), "node metadata has more than 64 entries");
    assert.equal(checkRow(node(null)), "node metadata is not an object");
    assert.equal(checkRow(node([])), "node metadata is not an object");
    assert.equal(checkRow(node("x")), "node metadata is not an object");
    assert.equal(checkRow(node({ a: 1 })), `node metadata "a" is not a string`);
    // Bytes count keys and values: "k0" + 16,382 characters is exactly 16 KiB.
    assert.equal(checkRow(node({ k0: "v".repeat(16_382) })), undefined);
    assert.equal(checkRow(node({ k0: "v".repeat(16_383) })), "node metadata is over 16384 bytes");
  });

  it("names: service name and node id not empty, version may be; at most 256 characters; no control characters", () => {
    assert.equal(checkRow(row({ version: "" })), undefined);
    assert.equal(checkRow(row({ name: "" })), "service name is empty");
    assert.equal(checkRow(row({ name: 1 as never })), "service name is not a string");
    assert.equal(checkRow(row({ version: undefined as never })), "version is not a string");
    assert.equal(checkRow(row({ name: "s".repeat(256) })), undefined);
    assert.equal(checkRow(row({ name: "s".repeat(257) })), "service name is over 256 characters");
    for (const c of ["\u0000", "\u001f", "\u007f", "\n"])
      assert.equal(
        checkRow(row({ version: `1${c}` })),
        "version holds a control character",
        JSON.stringify(c),
      );
    assert.equal(checkRow(row({ version: "1\u0080é" })), undefined, "other characters are fine");
    assert.equal(
      checkRow(row({ node: { id: "", address: "127.0.0.1:1", metadata: {} } })),
      "node id is empty",
    );
    assert.equal(checkRow(row({ node: undefined as never })), "node id is not a string");
  });

  it("endpoints: a list of at most 1,024", () => {
    const eps = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `S.m${i}` }));
    assert.equal(checkRow(row({ endpoints: eps(1024) })), undefined);
    assert.equal(checkRow(row({ endpoints: eps(1025) })), "endpoints are not a list of at most 1024");
    assert.equal(checkRow(row({ endpoints: {} as never })), "endpoints are not a list of at most 1024");
  });

  it("the first failing check is the one reported", () => {
    assert.equal(
      checkRow(row({ name: "", node: { id: "", address: "x", metadata: null as never } })),
      "service name is empty",
    );
    assert.equal(
      checkRow(row({ node: { id: "n", address: "x", metadata: null as never } })),
      `address "x" is not host:port`,
    );
  });

  it("a stored record must expire, within an hour", () => {
    const now = 1_000_000;
    for (const never of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      assert.equal(checkExpiry(never, now), "it never expires (no TTL)", String(never));
    assert.equal(checkExpiry(now + 3_600_000, now), undefined);
    assert.equal(checkExpiry(now + 3_600_001, now), "it expires more than 3600000 ms from now");
    assert.equal(checkExpiry(Date.now() + 1000), undefined, "now defaults to the clock");
    assert.equal(checkExpiry(1), undefined, "a record already expired is not refused here");
  });
});

describe("registry refusals (pinned)", () => {
  const logged = captureRefusals();
  const original = registryRefusals.log;

  it("validRow passes a good row through and refuses a bad one, logged once per node and reason", () => {
    const good = row({ name: "vr-good" });
    assert.equal(validRow(good), good);
    const bad = row({ name: "vr-bad", node: { id: "n7", address: "nope", metadata: {} } });
    assert.equal(validRow(bad), undefined);
    assert.equal(validRow(bad), undefined);
    assert.deepEqual(logged, [
      `tsmicro: registry record of vr-bad node n7 refused: address "nope" is not host:port`,
    ]);
    validRow(row({ name: "vr-bad", node: { id: "n8", address: "nope", metadata: {} } }));
    validRow(row({ name: "vr-bad", node: { id: "n7", address: "nope:0", metadata: {} } }));
    assert.equal(logged.length, 3, "another node, or another reason, is logged again");
  });

  it("a refusal names ? for a missing name or node id, and clips long ones", () => {
    reportRefusal({}, "why-1");
    reportRefusal(
      { name: "n".repeat(100), node: { id: "i".repeat(100), address: "", metadata: {} } },
      "why-2",
    );
    assert.deepEqual(logged, [
      "tsmicro: registry record of ? node ? refused: why-1",
      `tsmicro: registry record of ${"n".repeat(80)}… node ${"i".repeat(80)}… refused: why-2`,
    ]);
  });

  it("the memory of what was logged is bounded: once full, it is emptied, and old refusals are logged again", () => {
    reportRefusal({ name: "bound" }, "first");
    for (let i = 0; i < 4200; i++) reportRefusal({ name: "bound" }, `r${i}`);
    assert.equal(logged.length, 4201);
    reportRefusal({ name: "bound" }, "first");
    assert.equal(logged.length, 4202, "forgotten when the memory was emptied, so logged again");
    reportRefusal({ name: "bound" }, "r4199");
    assert.equal(logged.length, 4202, "remembered since the memory was emptied");
  });

  it("by default a refusal is a console warning", () => {
    registryRefusals.log = original;
    const warn = console.warn;
    const seen: unknown[] = [];
    console.warn = (m: unknown) => seen.push(m);
    try {
      reportRefusal({ name: "default-log" }, "why");
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(seen, ["tsmicro: registry record of default-log node ? refused: why"]);
  });
});
