/**
 * Service lifecycle helpers: waiting for the services this one depends on (Moleculer's
 * `dependencies`), and the version ranges they may name (`stock@^2`). Kept dependency-free:
 * a range is `*`, `^major[.minor[.patch]]`, `~major.minor`, or an exact version.
 */
import { MicroError } from "../errors.js";
import type { Registry } from "../registry/registry.js";
import { sleep } from "../util/abort.js";

const NEVER = new AbortController().signal;

/** A hook run at one point of the service's life (go-micro's BeforeStart etc.). */
export type LifecycleHook = () => void | Promise<void>;

/** Whether `version` satisfies `range` (see the module comment for the forms). */
export function versionMatches(version: string, range: string): boolean {
  if (range === "*" || range === "") return true;
  const nums = (v: string) =>
    v
      .replace(/^v/, "")
      .split(/[.-]/)
      .map((p) => Number.parseInt(p, 10));
  const have = nums(version);
  if (range.startsWith("^") || range.startsWith("~")) {
    const want = nums(range.slice(1));
    const fixed = range.startsWith("^") ? 1 : 2; // parts that must equal
    for (let i = 0; i < 3; i++) {
      const w = want[i];
      if (w === undefined || Number.isNaN(w)) return true;
      const h = have[i] ?? 0;
      if (i < fixed) {
        if (h !== w) return false;
      } else if (h !== w) return h > w;
    }
    return true;
  }
  return version.replace(/^v/, "") === range.replace(/^v/, "");
}

/** Splits `name@range` (the range defaults to any version). */
export function parseDependency(dep: string): { name: string; range: string } {
  const at = dep.indexOf("@", 1);
  return at < 0 ? { name: dep, range: "*" } : { name: dep.slice(0, at), range: dep.slice(at + 1) };
}

/**
 * Resolves once every dependency has a registered node of a matching version; rejects with a
 * 503 naming the ones still missing after `timeoutMs`.
 */
export async function waitForDependencies(
  service: string,
  registry: Registry,
  dependencies: readonly string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const wanted = dependencies.map(parseDependency);
  const until = Date.now() + timeoutMs;
  let missing = dependencies;
  for (;;) {
    const found = await Promise.all(
      wanted.map(async ({ name, range }) => {
        const records = await registry.getService(name).catch(() => []);
        return records.some((r) => r.nodes.length > 0 && versionMatches(r.version, range));
      }),
    );
    missing = dependencies.filter((_, i) => !found[i]);
    if (missing.length === 0) return;
    if (Date.now() >= until || signal?.aborted) break;
    await sleep(Math.min(100, Math.max(0, until - Date.now())), signal ?? NEVER);
  }
  throw new MicroError({
    id: service,
    code: 503,
    detail: `service ${service} did not start: its dependencies ${missing.map((d) => `"${d}"`).join(", ")} were not registered in ${registry.name} within ${timeoutMs} ms (dependencies option; raise dependencyTimeoutMs or start them first)`,
    retryable: false,
  });
}
