/** @tsmicro/health: HTTP liveness and readiness probes for tsmicro services. */
export {
  type CheckResult,
  createHealthServer,
  DEFAULT_CHECK_TIMEOUT_MS,
  DEFAULT_HEALTH_ADDRESS,
  type HealthServer,
  type HealthServerOptions,
  LIVENESS_PATH,
  READINESS_PATH,
  type Readiness,
} from "./health.js";
