import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { brokerFaultTest } from "tsmicro/testing";
import { createJetStreamBroker, createNatsBroker, defaultStreamName } from "../src/index.js";

const servers = process.env.NATS_URL ?? "127.0.0.1:4222";
const script = fileURLToPath(new URL("./fault-subscriber.ts", import.meta.url));

brokerFaultTest("jetstream", {
  create: () => createJetStreamBroker({ servers }),
  subscriber: { args: ["--import", "tsx", script], env: { FAULT_BROKER: "jetstream" } },
  async cleanup(topic) {
    const nc = await connect({ servers });
    await (await jetstreamManager(nc)).streams.delete(defaultStreamName(topic)).catch(() => {});
    await nc.close();
  },
});

// Negative control: core NATS keeps nothing for a queue group whose members are all down.
brokerFaultTest("nats", {
  create: () => createNatsBroker({ servers }),
  subscriber: { args: ["--import", "tsx", script], env: { FAULT_BROKER: "nats" } },
  expectLoss: true,
});
