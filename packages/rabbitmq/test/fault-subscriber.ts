// A subscriber process for the SIGKILL fault test (see tsmicro/testing broker-fault).
import { runFaultSubscriber } from "tsmicro/testing";
import { createRabbitBroker } from "../src/index.js";

await runFaultSubscriber(() =>
  createRabbitBroker({
    url: process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672",
    exchange: "tsmicro-test",
    queuePrefix: "tsmicro-test:",
  }),
);
