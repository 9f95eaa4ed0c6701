/**
 * @tsmicro/nats: NATS for tsmicro. One connection (see `connection.ts`) can serve the
 * registry, the broker and the transport together.
 */
export {
  createNatsConnection,
  DEFAULT_NATS_SERVERS,
  type NatsConnectionHandle,
  type NatsConnectionOptions,
  natsConnectionHandle,
} from "./connection.js";
