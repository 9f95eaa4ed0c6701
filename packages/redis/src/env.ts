/** `MICRO_BROKER=redis|redis-pubsub` with `MICRO_BROKER_ADDRESS` (a redis:// URL): tsmicro's brokerFromEnv imports this. */
import type { Broker } from "tsmicro";
import type { BrokerFromAddress } from "tsmicro/plugin";
import { createRedisPubSubBroker } from "./pubsub.js";
import { createRedisBroker } from "./streams.js";

export const brokerFromAddress: BrokerFromAddress = (kind, options): Broker => {
  const url = options.address === undefined ? undefined : withScheme(options.address);
  const common = {
    ...(url === undefined ? {} : { url }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  };
  if (kind === "redis") return createRedisBroker(common);
  if (kind === "redis-pubsub") return createRedisPubSubBroker(common);
  throw new TypeError(`@tsmicro/redis provides the brokers "redis" and "redis-pubsub", not "${kind}"`);
};

/** `127.0.0.1:6379` is accepted as well as `redis://127.0.0.1:6379`. */
function withScheme(address: string): string {
  return /^rediss?:\/\//.test(address) ? address : `redis://${address}`;
}
