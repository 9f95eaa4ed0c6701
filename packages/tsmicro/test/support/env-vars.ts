/** Environment variables and workspace facts for the tests that choose backends by name. */
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, beforeEach } from "node:test";

/**
 * Gives each test of the enclosing suite its own copy of `names` in process.env: the values
 * are put back after each test, and with `unset` removed before each.
 */
export function isolateEnv(names: readonly string[], unset = false): void {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const k of names) {
      saved[k] = process.env[k];
      if (unset) delete process.env[k];
    }
  });
  afterEach(() => {
    for (const k of names) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
}

/** The package names of this repository's workspace (packages/*). */
export function workspacePackageNames(): Set<string> {
  const root = new URL("../../../", import.meta.url);
  return new Set(
    readdirSync(root).flatMap((d) => {
      try {
        return [JSON.parse(readFileSync(new URL(`${d}/package.json`, root), "utf8")).name as string];
      } catch {
        return [];
      }
    }),
  );
}
