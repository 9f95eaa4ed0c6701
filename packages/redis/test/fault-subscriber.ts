// A subscriber process for the SIGKILL fault test (see tsmicro/testing broker-fault).
import { runFaultSubscriber } from "tsmicro/testing";
import { createRedisBroker } from "../src/index.js";

await runFaultSubscriber(() =>
  createRedisBroker({
    url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    keyPrefix: "tsmicro-test:",
    claimIdleMs: 2000,
  }),
);
