/**
 * Pinned behaviours of the one options resolver (util/options.ts): defaults under given
 * values, undefined meaning "the default", each check's edge, how a bad value is shown, and
 * a frozen result.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { MicroError } from "../../src/errors.js";
import { must, resolveOptions } from "../../src/util/options.js";

const refusal = (detail: string) => (e: unknown) => {
  assert.ok(e instanceof MicroError);
  assert.equal(e.id, "tsmicro");
  assert.equal(e.code, 400);
  assert.equal(e.detail, detail);
  return true;
};

describe("options resolver (pinned)", { timeout: 10_000 }, () => {
  it("given values over the defaults; undefined keeps a default; the result is frozen and the inputs untouched", () => {
    const defaults = { a: 1, b: 2 };
    const given = { b: undefined, c: 3 };
    const out = resolveOptions("thing", given, defaults, { a: must.positive });
    assert.deepEqual(out, { a: 1, b: 2, c: 3 });
    assert.equal(Object.isFrozen(out), true);
    assert.deepEqual(defaults, { a: 1, b: 2 });
    assert.deepEqual(resolveOptions("thing", undefined, defaults, {}), defaults);
    assert.deepEqual(resolveOptions("thing", null as never, defaults, {}), defaults);
  });

  it("options that are not an object are refused, naming the component", () => {
    assert.throws(
      () => resolveOptions("redis broker", 5 as never, {}, {}),
      refusal("redis broker options must be an object, got 5"),
    );
    assert.throws(
      () => resolveOptions("redis broker", "x" as never, {}, {}),
      refusal('redis broker options must be an object, got "x"'),
    );
  });

  it("an option left out without a default is not checked; a default that fails its check is refused", () => {
    assert.deepEqual(resolveOptions("c", {}, {}, { missing: must.positive }), {});
    assert.throws(
      () => resolveOptions("c", {}, { n: 0 }, { n: must.positive }),
      refusal("c option n must be a number > 0, got 0"),
    );
  });

  it("each check accepts its edge and refuses just past it", () => {
    const cases: [keyof typeof must, unknown[], unknown[]][] = [
      ["positive", [Number.MIN_VALUE, 1, Number.POSITIVE_INFINITY], [0, -1, Number.NaN, "1"]],
      ["nonNegative", [0, 0.5, Number.POSITIVE_INFINITY], [-Number.MIN_VALUE, Number.NaN, "0"]],
      ["positiveInteger", [1, 2 ** 40], [0, 1.5, Number.POSITIVE_INFINITY, "1"]],
      ["nonNegativeInteger", [0, 7], [-1, 0.5, Number.NaN]],
      ["text", ["x"], ["", 1, ["x"]]],
      ["texts", ["x", ["a", "b"]], ["", [], ["a", ""], ["a", 1], 5]],
      ["boolean", [true, false], [0, "true"]],
      ["function", [() => 1], [{}, "f"]],
      ["object", [{}, Object.create(null)], [null, [], "o", 1]],
    ];
    for (const [name, good, bad] of cases) {
      const e = must[name] as { test(v: unknown): boolean };
      for (const v of good) assert.equal(e.test(v), true, `${name} accepts ${inspect(v)}`);
      for (const v of bad) assert.equal(e.test(v), false, `${name} refuses ${inspect(v)}`);
    }
  });

  it("oneOf and either read as what they accept", () => {
    const mode = must.oneOf("a", 2);
    assert.equal(mode.test("a") && mode.test(2), true);
    assert.equal(mode.test("b"), false);
    assert.equal(mode.text, 'one of "a", 2');
    const e = must.either(must.boolean, must.positiveInteger);
    assert.equal(e.test(true) && e.test(3), true);
    assert.equal(e.test(0), false);
    assert.equal(e.text, "true or false or an integer ≥ 1");
    assert.throws(
      () => resolveOptions("c", { m: "z" }, {}, { m: mode }),
      refusal('c option m must be one of "a", 2, got "z"'),
    );
  });

  it("a bad value is shown briefly: long strings cut at 60 characters, functions, lists and objects by kind", () => {
    const show = (v: unknown) => {
      try {
        resolveOptions("c", { v }, {}, { v: { test: () => false, text: "x" } });
      } catch (e) {
        return (e as MicroError).detail.replace("c option v must be x, got ", "");
      }
      return assert.fail("expected a refusal");
    };
    assert.equal(show("a".repeat(61)), JSON.stringify(`${"a".repeat(60)}…`));
    assert.equal(show("a".repeat(60)), JSON.stringify("a".repeat(60)));
    assert.equal(
      show(() => 1),
      "a function",
    );
    assert.equal(show([1]), "a list");
    assert.equal(show({ k: 1 }), "an object");
    assert.equal(show(null), "null");
    assert.equal(show(false), "false");
  });
});
