// Restarts a PRIVATE PostgreSQL cluster (never the shared server): SIGKILL mid-writes, then WAL recovery.
import { after, before, describe } from "node:test";
import { storeRestartTest } from "tsmicro/testing";
import { createPostgresStore } from "../src/index.js";
import { type PrivatePostgres, startPrivatePostgres } from "./private-postgres.js";

let pg: PrivatePostgres;

describe("PostgreSQL store: server restart", { timeout: 180_000 }, () => {
  before(async () => {
    pg = await startPrivatePostgres();
  });
  after(() => pg?.stop());
  storeRestartTest("postgres store (private cluster, SIGKILL)", {
    create: () => createPostgresStore({ url: pg.url, timeoutMs: 3000 }),
    restart: async () => {
      await pg.kill();
      await pg.start();
    },
  });
});
