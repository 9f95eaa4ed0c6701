// A subscriber process for the SIGKILL fault test (see tsmicro/testing broker-fault).
import { runFaultSubscriber } from "tsmicro/testing";
import { createJetStreamBroker, createNatsBroker } from "../src/index.js";

const servers = process.env.NATS_URL ?? "127.0.0.1:4222";
await runFaultSubscriber(() =>
  process.env.FAULT_BROKER === "nats"
    ? createNatsBroker({ servers })
    : createJetStreamBroker({ servers, ackWaitMs: 2000 }),
);
