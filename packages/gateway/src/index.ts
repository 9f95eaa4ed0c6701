/** @tsmicro/gateway: the HTTP gateway and web dashboard for tsmicro services. */
export { API_PREFIX, parseApiPath } from "./api.js";
export { createDashboard, type Dashboard, type DashboardOptions } from "./dashboard/dashboard.js";
export {
  createGateway,
  DEFAULT_GATEWAY_ADDRESS,
  DEFAULT_MAX_BODY_BYTES,
  type Gateway,
  type GatewayOptions,
} from "./gateway.js";
export { metadataFromHeaders, timeoutFromHeaders } from "./headers.js";
export { httpStatus } from "./http-error.js";
export { callEveryNode, type EveryNodeOptions, type NodeAnswer } from "./nodes.js";
export { createStats, type EndpointSeries, quantile, type Stats, type StatsOptions } from "./stats.js";
