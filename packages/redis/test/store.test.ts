import { randomUUID } from "node:crypto";
import { after } from "node:test";
import { Redis } from "ioredis";
import { storeConformance } from "tsmicro/testing";
import { createRedisStore } from "../src/index.js";

// The shared server: a database of our own per run, removed afterwards.
const database = `run_${randomUUID().replaceAll("-", "").slice(0, 10)}`;
after(async () => {
  const r = new Redis("redis://127.0.0.1:6379");
  const keys = await r.keys(`tsmicro:store:{${database}/*`);
  if (keys.length > 0) await r.del(...keys);
  r.disconnect();
});
storeConformance("redis", { create: () => createRedisStore({ database }) });
