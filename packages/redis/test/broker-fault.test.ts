import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { brokerCrashLoopTest, brokerFaultTest } from "tsmicro/testing";
import { createRedisBroker } from "../src/index.js";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const keyPrefix = "tsmicro-test:";

const options = {
  create: () => createRedisBroker({ url, keyPrefix }),
  subscriber: { args: ["--import", "tsx", fileURLToPath(new URL("./fault-subscriber.ts", import.meta.url))] },
  async cleanup(topic: string) {
    const r = new Redis(url);
    await r.del(keyPrefix + topic, `${keyPrefix}${topic}.dlq`);
    await r.quit();
  },
};

brokerFaultTest("redis streams", options);
brokerCrashLoopTest("redis streams", options);
