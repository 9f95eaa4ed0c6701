/** Test helpers for tsmicro implementations: conformance suites every backend runs. */

export { type BrokerConformanceOptions, brokerConformance } from "./broker-conformance.js";
export { brokerFromEnvTest } from "./broker-env.js";
export {
  type BrokerFaultOptions,
  brokerCrashLoopTest,
  brokerFaultTest,
  type FaultCounts,
  runFaultSubscriber,
} from "./broker-fault.js";
export {
  type BrokerRestartOptions,
  brokerRestartTest,
  type ProcessServer,
  processServer,
} from "./broker-restart.js";
export { type CacheConformanceOptions, cacheConformance } from "./cache-conformance.js";
export { freePort } from "./ports.js";
export { type RegistryConformanceOptions, registryConformance } from "./registry-conformance.js";
// Platform packages (store, config, cache): conformance suites every backend runs.
export { rejectsMicro, type StoreConformanceOptions, storeConformance } from "./store-conformance.js";
export { type StoreRestartOptions, storeRestartTest } from "./store-restart.js";
export { waitFor } from "./wait.js";
