/** `MICRO_BROKER=rabbitmq` with `MICRO_BROKER_ADDRESS` (an amqp:// URL): tsmicro's brokerFromEnv imports this. */
import type { Broker } from "tsmicro";
import type { BrokerFromAddress } from "tsmicro/plugin";
import { createRabbitBroker } from "./broker.js";

export const brokerFromAddress: BrokerFromAddress = (kind, options): Broker => {
  if (kind !== "rabbitmq")
    throw new TypeError(`@tsmicro/rabbitmq provides the broker "rabbitmq", not "${kind}"`);
  return createRabbitBroker({
    ...(options.address === undefined ? {} : { url: options.address }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
};
