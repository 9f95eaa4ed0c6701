/**
 * @tsmicro/redis: Redis brokers for tsmicro. Streams with consumer groups for at-least-once
 * delivery and durable queue groups (`createRedisBroker`, MICRO_BROKER=redis); pub/sub for
 * fire-and-forget (`createRedisPubSubBroker`, MICRO_BROKER=redis-pubsub).
 */
export { createRedisCache, type RedisCacheOptions } from "./cache.js";
export {
  DEFAULT_REDIS_URL,
  type RedisConnectionOptions,
  type RedisTlsOptions,
  redisSecurityOptions,
} from "./connection.js";
export { brokerFromAddress, storeFromAddress } from "./env.js";
export { createRedisPubSubBroker, type RedisPubSubBrokerOptions } from "./pubsub.js";
export { createRedisStore, REDIS_STORE_WRITE_SCRIPT, type RedisStoreOptions } from "./store.js";
export { createRedisBroker, DEFAULT_REDIS_BROKER_OPTIONS, type RedisBrokerOptions } from "./streams.js";
