import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { createLocalRegistry } from "../src/registry/local.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { registryConformance } from "../src/testing/registry-conformance.js";

const shared = createMemoryRegistry();
// Memory registries are per process: "two instances" share one map, as two handles would.
registryConformance("memory", { create: () => wrapShared(shared) });

const dir = mkdtempSync(join(tmpdir(), "tsmicro-reg-"));
after(() => rmSync(dir, { recursive: true, force: true }));
registryConformance("local", { create: () => createLocalRegistry({ dir, pollMs: 100 }) });

function wrapShared(r: ReturnType<typeof createMemoryRegistry>) {
  return { ...r, close: async () => {} };
}
