import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { storeConformance } from "tsmicro/testing";
import { createFileStore } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const path = join(dir, "store.db");

storeConformance("file (sqlite)", { create: () => createFileStore({ path }) });
