import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { brokerCrashLoopTest, brokerFaultTest } from "tsmicro/testing";
import { createJetStreamBroker, createNatsBroker, defaultStreamName } from "../src/index.js";

const servers = process.env.NATS_URL ?? "127.0.0.1:4222";
const script = fileURLToPath(new URL("./fault-subscriber.ts", import.meta.url));

async function cleanup(topic: string) {
  const nc = await connect({ servers });
  const jsm = await jetstreamManager(nc);
  for (const t of [topic, `${topic}.dlq`]) await jsm.streams.delete(defaultStreamName(t)).catch(() => {});
  await nc.close();
}
const jetstreamSubscriber = { args: ["--import", "tsx", script], env: { FAULT_BROKER: "jetstream" } };

brokerFaultTest("jetstream", {
  create: () => createJetStreamBroker({ servers }),
  subscriber: jetstreamSubscriber,
  cleanup,
});
brokerCrashLoopTest("jetstream", {
  create: () => createJetStreamBroker({ servers }),
  subscriber: jetstreamSubscriber,
  cleanup,
});

// Negative control: core NATS keeps nothing for a queue group whose members are all down.
brokerFaultTest("nats", {
  create: () => createNatsBroker({ servers }),
  subscriber: { args: ["--import", "tsx", script], env: { FAULT_BROKER: "nats" } },
  expectLoss: true,
});
