/**
 * The one place the RabbitMQ broker's options are resolved: defaults filled (the values its
 * docs' `@default`s name, checked by a test), values checked (a bad one is a 400 naming the
 * option and what it must be), the result frozen.
 */
import { must, resolveOptions } from "tsmicro/plugin";
import { DEFAULT_RABBITMQ_URL } from "./link.js";

export const DEFAULT_RABBIT_BROKER_OPTIONS = {
  url: DEFAULT_RABBITMQ_URL,
  exchange: "tsmicro",
  queuePrefix: "tsmicro:",
  prefetch: 128,
  keepDeadLetters: true,
  heartbeatSeconds: 5,
} as const;

export function resolveRabbitBrokerOptions<T extends object>(options: T | undefined) {
  return resolveOptions("rabbitmq broker", options, DEFAULT_RABBIT_BROKER_OPTIONS, {
    url: must.text,
    exchange: must.text,
    queuePrefix: must.either(must.text, must.oneOf("")),
    prefetch: must.positiveInteger,
    keepDeadLetters: must.boolean,
    // 0 turns heartbeats off (AMQP's meaning).
    heartbeatSeconds: must.nonNegativeInteger,
    credentials: must.object,
    tls: must.object,
    onError: must.function,
  });
}
