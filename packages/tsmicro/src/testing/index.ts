/** Test helpers for tsmicro implementations: conformance suites every backend runs. */
export { freePort } from "./ports.js";
export { type RegistryConformanceOptions, registryConformance } from "./registry-conformance.js";
export { type BrokerConformanceOptions, brokerConformance } from "./broker-conformance.js";
