import { randomUUID } from "node:crypto";
import { after } from "node:test";
import { Redis } from "ioredis";
import { cacheConformance } from "tsmicro/testing";
import { createRedisCache } from "../src/index.js";

// The shared server: a key prefix of our own per run, removed afterwards.
const keyPrefix = `tsmicro-test:${randomUUID().slice(0, 8)}:`;
after(async () => {
  const r = new Redis("redis://127.0.0.1:6379");
  const keys = await r.keys(`${keyPrefix}*`);
  if (keys.length > 0) await r.del(...keys);
  r.disconnect();
});
cacheConformance("redis", { create: () => createRedisCache({ keyPrefix }) });
