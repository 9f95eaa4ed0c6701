import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { storeFromEnv } from "tsmicro/plugin";
import { storeConformance } from "tsmicro/testing";
import { createFileStore } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const path = join(dir, "store.db");

storeConformance("file (sqlite)", { create: () => createFileStore({ path }) });

it("MICRO_STORE=file loads this package through tsmicro's storeFromEnv", async () => {
  const s = storeFromEnv({ kind: "file", address: join(dir, "env.db"), table: "env" });
  await s.write({ key: "k", value: new Uint8Array([9]) });
  assert.match(s.name, /^file \(.*env\.db\)$/);
  assert.deepEqual([...(await s.read("k"))[0]!.value], [9]);
  await s.close();
  const again = storeFromEnv({ kind: "file", address: join(dir, "env.db"), table: "env" });
  assert.equal((await again.read("k")).length, 1, "the file kept it");
  await again.close();
});
