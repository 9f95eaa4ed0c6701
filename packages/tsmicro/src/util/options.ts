/**
 * The one way a package resolves an options object: given values over documented defaults
 * (`undefined` means "the default"), each checked against what it must be, the result frozen.
 * A bad value is a 400 MicroError naming the component, the option, what was expected and
 * what was given, so a typo in a config file is found where it is made, not at first use.
 */
import { badRequest } from "../errors.js";

/** What an option's value must be: a test and the words that say so in an error. */
export interface Expect {
  readonly test: (value: unknown) => boolean;
  /** Completes "must be …": `"a number > 0"`. */
  readonly text: string;
}

const isNumber = (v: unknown): v is number => typeof v === "number" && !Number.isNaN(v);

/** The checks packages need, read as "option x must be …"; `oneOf` and `either` build others. */
export const must = Object.freeze({
  /** A number > 0 (Infinity allowed: "no limit"). */
  positive: { test: (v) => isNumber(v) && v > 0, text: "a number > 0" } as Expect,
  /** A number ≥ 0. */
  nonNegative: { test: (v) => isNumber(v) && v >= 0, text: "a number ≥ 0" } as Expect,
  /** An integer ≥ 1. */
  positiveInteger: {
    test: (v) => Number.isInteger(v) && (v as number) >= 1,
    text: "an integer ≥ 1",
  } as Expect,
  /** An integer ≥ 0. */
  nonNegativeInteger: {
    test: (v) => Number.isInteger(v) && (v as number) >= 0,
    text: "an integer ≥ 0",
  } as Expect,
  /** A string that is not empty. */
  text: { test: (v) => typeof v === "string" && v.length > 0, text: "a non-empty string" } as Expect,
  /** A non-empty string or a non-empty list of them. */
  texts: {
    test: (v) =>
      (typeof v === "string" && v.length > 0) ||
      (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === "string" && s.length > 0)),
    text: "a non-empty string or list of strings",
  } as Expect,
  boolean: { test: (v) => typeof v === "boolean", text: "true or false" } as Expect,
  function: { test: (v) => typeof v === "function", text: "a function" } as Expect,
  /** A plain object (not an array). */
  object: {
    test: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
    text: "an object",
  } as Expect,
  /** One of `values`. */
  oneOf(...values: readonly unknown[]): Expect {
    return {
      test: (v) => values.includes(v),
      text: `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`,
    };
  },
  /** Any of `expects`. */
  either(...expects: readonly Expect[]): Expect {
    return { test: (v) => expects.some((e) => e.test(v)), text: expects.map((e) => e.text).join(" or ") };
  },
});

/** `T` with the defaulted keys required. */
export type Resolved<T, D> = Readonly<
  Omit<T, keyof D> & { [K in keyof D]-?: K extends keyof T ? Exclude<T[K], undefined> : D[K] }
>;

/**
 * `given` over `defaults` (an undefined value keeps the default), each value `checks` names
 * tested (an undefined one is not: an option with no default may be left out), frozen.
 * `component` names the options in errors: `"redis broker"` → "redis broker option
 * maxLen must be an integer ≥ 1, got 0".
 */
export function resolveOptions<T extends object, D extends object>(
  component: string,
  given: T | undefined,
  defaults: D,
  checks: Readonly<Record<string, Expect>>,
): Resolved<T, D> {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  if (given !== undefined && given !== null) {
    if (typeof given !== "object")
      throw badRequest("tsmicro", `${component} options must be an object, got ${show(given)}`);
    for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k] = v;
  }
  for (const [k, e] of Object.entries(checks) as [string, Expect | undefined][]) {
    const v = out[k];
    if (e !== undefined && v !== undefined && !e.test(v))
      throw badRequest("tsmicro", `${component} option ${k} must be ${e.text}, got ${show(v)}`);
  }
  return Object.freeze(out) as Resolved<T, D>;
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === "function") return "a function";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object" && v !== null) return "an object";
  return String(v);
}
