import { randomUUID } from "node:crypto";
import { after } from "node:test";
import pg from "pg";
import { storeConformance } from "tsmicro/testing";
import { createPostgresStore, DEFAULT_POSTGRES_URL } from "../src/index.js";

// The shared server: a schema of our own per run, dropped afterwards.
const schema = `tsmicro_test_${randomUUID().replaceAll("-", "").slice(0, 10)}`;
after(async () => {
  const c = new pg.Client({ connectionString: DEFAULT_POSTGRES_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
});
storeConformance("postgres", { create: () => createPostgresStore({ schema }) });
