import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { brokerConformance, brokerFromEnvTest } from "tsmicro/testing";
import { createJetStreamBroker, createNatsBroker, defaultStreamName } from "../src/index.js";

// The shared server (bash scripts/services.sh), or NATS_URL to point the tests elsewhere.
const servers = process.env.NATS_URL ?? "127.0.0.1:4222";

brokerConformance("nats", { create: () => createNatsBroker({ servers }), durable: false });

async function deleteStreams(topics: string[]) {
  const nc = await connect({ servers });
  const jsm = await jetstreamManager(nc);
  await Promise.all(topics.map((t) => jsm.streams.delete(defaultStreamName(t)).catch(() => {})));
  await nc.close();
}

brokerConformance("jetstream", {
  create: () => createJetStreamBroker({ servers, ackWaitMs: 5000 }),
  durable: true,
  cleanup: deleteStreams,
});

brokerFromEnvTest("nats", { address: servers, name: /^nats \(/ });
brokerFromEnvTest("jetstream", {
  address: servers,
  name: /^jetstream \(/,
  cleanup: (t) => deleteStreams([t, `${t}.dlq`]),
});
