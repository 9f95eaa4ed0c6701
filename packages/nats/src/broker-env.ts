/** `MICRO_BROKER=nats|jetstream` with `MICRO_BROKER_ADDRESS` (comma-separated servers): tsmicro's brokerFromEnv imports this. */
import type { Broker } from "tsmicro";
import type { BrokerFromAddress } from "tsmicro/plugin";
import { createNatsBroker } from "./broker.js";
import { createJetStreamBroker } from "./broker-jetstream.js";
import { DEFAULT_NATS_SERVERS } from "./connection.js";

export const brokerFromAddress: BrokerFromAddress = (kind, options): Broker => {
  const servers = (options.address ?? DEFAULT_NATS_SERVERS).split(",").map((s) => s.trim());
  const common = options.onError === undefined ? { servers } : { servers, onError: options.onError };
  if (kind === "jetstream") return createJetStreamBroker(common);
  if (kind === "nats") return createNatsBroker(common);
  throw new TypeError(`@tsmicro/nats provides the brokers "nats" and "jetstream", not "${kind}"`);
};
