/**
 * The services of a project, for `tsmicro run`: a `tsmicro.json` manifest
 * (`{ "services": { "<name>": { "entry": "src/main.ts", "watch": ["src"] } } }`), else the
 * `tsmicro new` convention (`src/main.ts`, named after package.json), else `services/<name>/main.*`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "../args.js";

export interface ServiceSpec {
  name: string;
  /** Absolute path of the file to run (.ts through tsx, .js/.mjs with node). */
  entry: string;
  /** Absolute paths whose changes restart the service. @default the entry's directory */
  watch: string[];
  /** Extra environment variables. @default {} */
  env: Record<string, string>;
}

const ENTRIES = ["main.ts", "main.mts", "main.mjs", "main.js"];

interface Manifest {
  services?: Record<string, { entry?: string; watch?: string[]; env?: Record<string, string> }>;
}

export function findServices(dirArg: string): ServiceSpec[] {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`);
  const manifestPath = join(dir, "tsmicro.json");
  if (existsSync(manifestPath)) {
    let manifest: Manifest;
    try {
      manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    } catch (err) {
      throw new UsageError(`${manifestPath} is not valid JSON: ${(err as Error).message}`);
    }
    return Object.entries(manifest.services ?? {}).map(([name, s]) => {
      if (typeof s?.entry !== "string")
        throw new UsageError(`${manifestPath}: service "${name}" needs an "entry" file`);
      const entry = resolve(dir, s.entry);
      if (!existsSync(entry))
        throw new UsageError(`${manifestPath}: the entry of "${name}", ${entry}, does not exist`);
      return {
        name,
        entry,
        watch: (s.watch ?? [dirname(s.entry)]).map((w) => resolve(dir, w)),
        env: s.env ?? {},
      };
    });
  }
  const specs: ServiceSpec[] = [];
  const main = ENTRIES.map((e) => join(dir, "src", e)).find(existsSync);
  if (main !== undefined) {
    const pkgPath = join(dir, "package.json");
    const name = existsSync(pkgPath) ? JSON.parse(readFileSync(pkgPath, "utf8")).name : undefined;
    specs.push({
      name: typeof name === "string" ? name : "service",
      entry: main,
      watch: [join(dir, "src")],
      env: {},
    });
  }
  const servicesDir = join(dir, "services");
  if (existsSync(servicesDir)) {
    for (const name of readdirSync(servicesDir).sort()) {
      const entry = ENTRIES.map((e) => join(servicesDir, name, e)).find(existsSync);
      if (entry !== undefined) specs.push({ name, entry, watch: [join(servicesDir, name)], env: {} });
    }
  }
  return specs;
}
