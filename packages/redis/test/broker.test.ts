import { Redis } from "ioredis";
import { brokerConformance, brokerFromEnvTest } from "tsmicro/testing";
import { createRedisBroker, createRedisPubSubBroker } from "../src/index.js";

// The shared server (bash scripts/services.sh), or REDIS_URL to point the tests elsewhere.
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const keyPrefix = "tsmicro-test:";

brokerConformance("redis streams", {
  create: () => createRedisBroker({ url, keyPrefix, claimIdleMs: 5000 }),
  durable: true,
  async cleanup(topics) {
    const r = new Redis(url);
    await r.del(...topics.map((t) => keyPrefix + t));
    await r.quit();
  },
});

brokerConformance("redis pub/sub", {
  create: () => createRedisPubSubBroker({ url, keyPrefix }),
  durable: false,
  queueGroups: false,
});

brokerFromEnvTest("redis", {
  address: url,
  name: /^redis streams \(/,
  async cleanup(topic) {
    const r = new Redis(url);
    await r.del(`tsmicro:${topic}`);
    await r.quit();
  },
});
brokerFromEnvTest("redis-pubsub", { address: url.replace("redis://", ""), name: /^redis pub\/sub \(/ });
