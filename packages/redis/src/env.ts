/** `MICRO_BROKER=redis|redis-pubsub` with `MICRO_BROKER_ADDRESS` (a redis:// URL): tsmicro's brokerFromEnv imports this. */
import type { Broker, Store } from "tsmicro";
import type { BrokerFromAddress, StoreFromAddress } from "tsmicro/plugin";
import { createRedisPubSubBroker } from "./pubsub.js";
import { createRedisStore } from "./store.js";
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

/** `MICRO_STORE=redis` with `MICRO_STORE_ADDRESS` (a redis:// URL): tsmicro's storeFromEnv imports this. */
export const storeFromAddress: StoreFromAddress = (_kind, options): Store => {
  const { address, ...rest } = options;
  return createRedisStore({ ...rest, ...(address === undefined ? {} : { url: withScheme(address) }) });
};
