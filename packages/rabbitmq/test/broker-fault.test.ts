import { fileURLToPath } from "node:url";
import { connect } from "amqplib";
import { brokerCrashLoopTest, brokerFaultTest } from "tsmicro/testing";
import { createRabbitBroker } from "../src/index.js";

const url = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";

const options = {
  create: () => createRabbitBroker({ url, exchange: "tsmicro-test", queuePrefix: "tsmicro-test:" }),
  subscriber: { args: ["--import", "tsx", fileURLToPath(new URL("./fault-subscriber.ts", import.meta.url))] },
  async cleanup(topic: string) {
    const conn = await connect(url);
    const ch = await conn.createChannel();
    await ch.deleteQueue(`tsmicro-test:${topic}:fault`);
    await ch.deleteQueue(`tsmicro-test:${topic}.dlq:kept`);
    await conn.close();
  },
};

brokerFaultTest("rabbitmq", options);
brokerCrashLoopTest("rabbitmq", options);
