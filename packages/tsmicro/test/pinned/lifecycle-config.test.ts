/**
 * Pinned behaviours of dependency ranges (service/lifecycle.ts) and of config values
 * (config/source.ts) that no test checked directly: each part of a range, `name@range`
 * splitting, the wait's error, and merging, leaf paths, setting and parsing of values.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { camelCase, leafPaths, mergeValues, parseScalar, setPath } from "../../src/config/source.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import { parseDependency, versionMatches, waitForDependencies } from "../../src/service/lifecycle.js";
import { within } from "../helpers.js";
import { node, service } from "../support/selector-nodes.js";

describe("dependency ranges (pinned)", { timeout: 10_000 }, () => {
  it("^ fixes the major and accepts any later minor and patch", () => {
    assert.equal(versionMatches("2.0.0", "^2"), true);
    assert.equal(versionMatches("2.5.1", "^2.4.3"), true, "a later minor");
    assert.equal(versionMatches("2.4.3", "^2.4.3"), true, "the same version");
    assert.equal(versionMatches("2.4.4", "^2.4.3"), true, "a later patch");
    assert.equal(versionMatches("2.4.2", "^2.4.3"), false, "an earlier patch");
    assert.equal(versionMatches("2.3.9", "^2.4"), false, "an earlier minor");
    assert.equal(versionMatches("1.9.9", "^2"), false);
    assert.equal(versionMatches("v2.1", "^2.1.0"), true, "missing parts are 0; a leading v is ignored");
    assert.equal(versionMatches("2.1", "^2.1.1"), false);
  });

  it("~ fixes the major and minor and accepts a later patch", () => {
    assert.equal(versionMatches("1.2.9", "~1.2.3"), true);
    assert.equal(versionMatches("1.2.3", "~1.2.3"), true);
    assert.equal(versionMatches("1.2.2", "~1.2.3"), false);
    assert.equal(versionMatches("1.3.0", "~1.2.3"), false, "a later minor");
    assert.equal(versionMatches("2.2.0", "~1.2"), false);
  });

  it("an exact range matches only that version; * and empty match anything; a range part that is not a number matches anything", () => {
    assert.equal(versionMatches("1.0.1", "1.0.0"), false);
    assert.equal(versionMatches("1.0.0", "v1.0.0"), true);
    assert.equal(versionMatches("anything", ""), true);
    assert.equal(versionMatches("3.1.0", "^3.x"), true);
    assert.equal(versionMatches("4.0.0", "^3.x"), false);
    assert.equal(versionMatches("1.0.0v", "1.0.0"), false, "only a leading v is dropped");
    assert.equal(versionMatches("1.0.0", "1.0.0v"), false);
    assert.equal(versionMatches("1.v2.0", "^1.2"), false, "a v inside a version is not dropped");
    assert.equal(versionMatches("1.2.3-1", "^1.2.3-4"), true, "only major, minor and patch are compared");
  });

  it("parseDependency splits name@range at the first @ after the start; no range means any", () => {
    assert.deepEqual(parseDependency("stock@^2"), { name: "stock", range: "^2" });
    assert.deepEqual(parseDependency("stock"), { name: "stock", range: "*" });
    assert.deepEqual(parseDependency("@scope/svc@~1.2"), { name: "@scope/svc", range: "~1.2" });
    assert.deepEqual(parseDependency("@scope/svc"), { name: "@scope/svc", range: "*" });
  });

  it("waitForDependencies resolves once a matching node registers, and names the missing ones otherwise", async () => {
    const registry = createMemoryRegistry();
    try {
      await registry.register(service("stock", [node("s1")], "1.0.0"));
      const waiting = waitForDependencies("shop", registry, ["stock@^2", "price"], 5000);
      await new Promise((r) => setTimeout(r, 30));
      await registry.register(service("stock", [node("s2")], "2.1.0"));
      await registry.register(service("price", [node("p1")], "0.1.0"));
      await within(waiting, 3000, "the dependencies to be found");

      const t0 = Date.now();
      await assert.rejects(
        within(
          waitForDependencies("shop", registry, ["stock@^3", "price", "cart"], 150),
          3000,
          "the wait to time out",
        ),
        (e: { code: number; id: string; retryable: boolean; detail: string }) => {
          assert.equal(e.id, "shop");
          assert.equal(e.code, 503);
          assert.equal(e.retryable, false);
          assert.match(
            e.detail,
            /^service shop did not start: its dependencies "stock@\^3", "cart" were not registered in memory within 150 ms/,
          );
          return true;
        },
      );
      assert.ok(Date.now() - t0 >= 140, "it waited its timeout before giving up");
      const c = new AbortController();
      const aborted = waitForDependencies("shop", registry, ["cart"], 60_000, c.signal);
      c.abort();
      await assert.rejects(within(aborted, 2000, "an aborted wait to give up"), { code: 503 });
    } finally {
      await registry.close();
    }
  });

  it("a version registered with no node does not count, and the registry is asked about every 100 ms", async () => {
    let asks = 0;
    const registry = {
      name: "fake",
      getService: async (name: string) => {
        asks++;
        return name === "stock" ? [{ ...service("stock", [], "2.0.0") }] : [];
      },
    } as unknown as Parameters<typeof waitForDependencies>[1];
    await assert.rejects(
      within(
        waitForDependencies("shop", registry, ["stock"], 250),
        3000,
        "the wait on an empty version to time out",
      ),
      { detail: /its dependencies "stock" were not registered in fake within 250 ms/ },
    );
    assert.ok(asks >= 2 && asks <= 5, `asked ${asks} times in 250 ms`);
  });
});

describe("config values (pinned)", { timeout: 10_000 }, () => {
  it("mergeValues merges objects key by key and replaces anything else, arrays and bytes included, leaving both inputs unchanged", () => {
    const base = { a: { x: 1, y: 2 }, list: [1, 2], bin: new Uint8Array([1]), keep: true };
    const over = { a: { y: 3, z: 4 }, list: [3], bin: { n: 1 } };
    const merged = mergeValues(base, over);
    assert.deepEqual(merged, { a: { x: 1, y: 3, z: 4 }, list: [3], bin: { n: 1 }, keep: true });
    assert.deepEqual(base.a, { x: 1, y: 2 });
    assert.deepEqual(
      mergeValues({ a: [1] }, { a: { b: 1 } }),
      { a: { b: 1 } },
      "an object replaces an array",
    );
    assert.deepEqual(mergeValues({ a: { b: 1 } }, { a: null }), { a: null });
    assert.deepEqual(mergeValues({ a: null }, { a: { b: 1 } }), { a: { b: 1 } });
  });

  it("leafPaths lists every leaf as a dotted path; an empty object is a leaf", () => {
    assert.deepEqual(
      leafPaths({ client: { retries: 3, pool: { size: 2 } }, empty: {}, list: [1, 2], n: null }),
      ["client.retries", "client.pool.size", "empty", "list", "n"],
    );
  });

  it("setPath creates objects on the way, replacing a value that is not one", () => {
    const t: Record<string, unknown> = { a: 5, keep: { k: 1 } };
    setPath(t, ["a", "b", "c"], 1);
    setPath(t, ["keep", "j"], 2);
    setPath(t, ["top"], 3);
    assert.deepEqual(t, { a: { b: { c: 1 } }, keep: { k: 1, j: 2 }, top: 3 });
  });

  it("parseScalar parses JSON numbers, booleans, null, arrays and objects; keeps anything else as the text given", () => {
    assert.equal(parseScalar(" 42 "), 42);
    assert.equal(parseScalar("-1.5e3"), -1500);
    assert.equal(parseScalar("true"), true);
    assert.equal(parseScalar("null"), null);
    assert.deepEqual(parseScalar('{"a":[1]}'), { a: [1] });
    assert.deepEqual(parseScalar("[1,2]"), [1, 2]);
    assert.equal(parseScalar("[not json"), "[not json");
    assert.equal(parseScalar("12abc"), "12abc");
    assert.equal(parseScalar("0x10"), "0x10");
    assert.equal(parseScalar(" text "), " text ", "text keeps its spaces");
    assert.equal(parseScalar("True"), "True");
    assert.equal(parseScalar("1.25"), 1.25);
    assert.equal(parseScalar("1e+5"), 100000);
    assert.equal(parseScalar("1E10"), 1e10);
    assert.equal(parseScalar('"quoted"'), '"quoted"', "a JSON string stays the text given, quotes and all");
    assert.equal(parseScalar('"[x]"'), '"[x]"');
    assert.equal(parseScalar("a{b}"), "a{b}");
  });

  it("camelCase turns kebab and SCREAMING_SNAKE names into camelCase", () => {
    assert.equal(camelCase("request-timeout-ms"), "requestTimeoutMs");
    assert.equal(camelCase("REQUEST_TIMEOUT_MS"), "requestTimeoutMs");
    assert.equal(camelCase("pool__size-2"), "poolSize2");
    assert.equal(camelCase("plain"), "plain");
  });
});
