/**
 * The rules every store enforces before a backend sees a call, so that every backend refuses the
 * same bad input with the same MicroError, naming the limit: keys are 1..maxKeyBytes UTF-8 bytes
 * without control characters; values are bytes up to maxValueBytes; database and table names
 * are 1..64 of [A-Za-z0-9_] (they become schema, table and bucket names in the backends).
 */
import { MicroError } from "../errors.js";
import type { StoreLimits } from "./store.js";

export const STORE_NAME_PATTERN = /^[A-Za-z0-9_]{1,64}$/;
// Control characters break line-based tooling and some backends' key syntax.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

function bad(store: string, detail: string, code = 400): MicroError {
  return new MicroError({ id: "tsmicro.store", code, detail: `store ${store}: ${detail}`, retryable: false });
}

export function checkKey(store: string, key: unknown, limits: StoreLimits, what = "key"): string {
  if (typeof key !== "string") throw bad(store, `${what} must be a string, got ${typeof key}`);
  if (key.length === 0) throw bad(store, `${what} must not be empty`);
  // A UTF-16 unit is at most 3 UTF-8 bytes: short keys skip the count.
  const bytes = key.length * 3 <= limits.maxKeyBytes ? 0 : Buffer.byteLength(key, "utf8");
  if (bytes > limits.maxKeyBytes) {
    throw bad(store, `${what} is ${bytes} bytes, over the limit of maxKeyBytes=${limits.maxKeyBytes}`);
  }
  if (CONTROL.test(key)) throw bad(store, `${what} ${JSON.stringify(key)} contains a control character`);
  return key;
}

/** Prefixes and suffixes may be empty (match everything) but follow the key rules otherwise. */
export function checkAffix(store: string, affix: string, limits: StoreLimits, what: string): string {
  return affix === "" ? affix : checkKey(store, affix, limits, what);
}

export function checkValue(store: string, key: string, value: unknown, limits: StoreLimits): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw bad(store, `value of ${JSON.stringify(key)} must be a Uint8Array (bytes), got ${typeof value}`);
  }
  if (value.byteLength > limits.maxValueBytes) {
    throw bad(
      store,
      `value of ${JSON.stringify(key)} is ${value.byteLength} bytes, over the limit of maxValueBytes=${limits.maxValueBytes}`,
      413,
    );
  }
  return value;
}

export function checkMetadata(store: string, key: string, metadata: unknown): Record<string, string> {
  if (metadata === undefined) return {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw bad(store, `metadata of ${JSON.stringify(key)} must be an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string")
      throw bad(store, `metadata ${JSON.stringify(k)} of ${JSON.stringify(key)} must be a string`);
    out[k] = v;
  }
  return out;
}

export function checkName(store: string, name: unknown, what: "database" | "table"): string {
  if (typeof name !== "string" || !STORE_NAME_PATTERN.test(name)) {
    throw bad(store, `${what} name ${JSON.stringify(name)} must be 1 to 64 of A-Z a-z 0-9 _`);
  }
  return name;
}

export function checkCount(store: string, n: unknown, what: "limit" | "offset"): number | undefined {
  if (n === undefined) return undefined;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw bad(store, `${what} must be a non-negative integer, got ${String(n)}`);
  }
  return n;
}

export function checkTtl(store: string, ttlMs: unknown): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw bad(store, `ttlMs must be a positive number of milliseconds, got ${String(ttlMs)}`);
  }
  return ttlMs;
}

export function checkVersion(store: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw bad(
      store,
      `ifVersion must be a non-negative integer (0: the key must not exist), got ${String(v)}`,
    );
  }
  return v;
}

/** The compare-and-set refusal. */
export function versionConflict(store: string, key: string, expected: number, actual: number): MicroError {
  return new MicroError({
    id: "tsmicro.store",
    code: 409,
    detail: `store ${store}: ${JSON.stringify(key)} is at version ${actual === 0 ? "none (absent)" : actual}, not ${expected === 0 ? "absent" : expected} as ifVersion required; nothing was written`,
    retryable: false,
  });
}
