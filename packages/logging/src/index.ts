/** @tsmicro/logging: structured call logs (pino) with request id and chain on every line. */

export { levelFor } from "./level.js";
export {
  createLogging,
  DEFAULT_LOG_LEVEL,
  DEFAULT_REQUEST_ID_KEY,
  type Logging,
  type LoggingOptions,
} from "./logging.js";
