import { connect } from "amqplib";
import { brokerConformance, brokerFromEnvTest } from "tsmicro/testing";
import { createRabbitBroker } from "../src/index.js";

// The shared server (bash scripts/services.sh), or RABBITMQ_URL to point the tests elsewhere.
const url = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const exchange = "tsmicro-test";
const queuePrefix = "tsmicro-test:";

brokerConformance("rabbitmq", {
  create: () => createRabbitBroker({ url, exchange, queuePrefix }),
  durable: true,
  async cleanup(topics) {
    // The durable queues the suite made: each group's, and the kept dead letters.
    const conn = await connect(url);
    const ch = await conn.createChannel();
    const groups = ["workers", "ga", "gb", "ordered", "poison", "keeper"];
    for (const t of topics) {
      for (const q of [...groups.map((g) => `${queuePrefix}${t}:${g}`), `${queuePrefix}${t}:kept`]) {
        await ch.deleteQueue(q).catch(() => {});
      }
    }
    await conn.close();
  },
});

brokerFromEnvTest("rabbitmq", {
  address: url,
  name: /^rabbitmq \(amqp:\/\/guest:\*\*\*@/,
  async cleanup(topic) {
    const conn = await connect(url);
    await (await conn.createChannel()).deleteQueue(`tsmicro:${topic}.dlq:kept`);
    await conn.close();
  },
});
