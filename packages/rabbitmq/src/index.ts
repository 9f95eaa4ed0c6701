/**
 * @tsmicro/rabbitmq: a RabbitMQ broker for tsmicro (amqplib) — durable queues per queue
 * group, persistent messages, publisher confirms, manual acks, reconnection.
 */
export {
  createRabbitBroker,
  DEFAULT_RABBIT_BROKER_OPTIONS,
  type RabbitBrokerOptions,
  type RabbitTlsOptions,
  rabbitSecurityOptions,
} from "./broker.js";
export { brokerFromAddress } from "./env.js";
export { DEFAULT_RABBITMQ_URL } from "./link.js";
