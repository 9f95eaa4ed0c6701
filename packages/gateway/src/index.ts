/** @tsmicro/gateway: the HTTP gateway and web dashboard for tsmicro services. */
export { API_PREFIX, parseApiPath } from "./api.js";
export type { CatalogOptions } from "./catalog.js";
export { type CorsOptions, DEFAULT_CORS_HEADERS, DEFAULT_CORS_METHODS } from "./cors.js";
export {
  createDashboard,
  type Dashboard,
  type DashboardOptions,
  DEFAULT_DASHBOARD_MAX_BUFFERED_BYTES,
  DEFAULT_DASHBOARD_MAX_STREAMS,
} from "./dashboard/dashboard.js";
export { DEFAULT_DASHBOARD_SCOPE, type GatewayAuthOptions } from "./edge-auth.js";
export {
  createGateway,
  type DashboardSettings,
  DEFAULT_GATEWAY_ADDRESS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  type Gateway,
  type GatewayOptions,
} from "./gateway.js";
export { metadataFromHeaders, timeoutFromHeaders } from "./headers.js";
export { httpStatus, type Problem, problemOf } from "./http-error.js";
export { callEveryNode, type EveryNodeOptions, type NodeAnswer } from "./nodes.js";
export { jsonSchemaOf, type OpenApiInfo, type ServiceApi } from "./openapi.js";
export type { RateLimitOptions } from "./rate-limit.js";
export type { RestRoute } from "./rest.js";
export { createStats, type EndpointSeries, quantile, type Stats, type StatsOptions } from "./stats.js";
export { DEFAULT_MAX_URL_BYTES } from "./target.js";
