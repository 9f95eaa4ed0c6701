/**
 * @tsmicro/auth: service auth after go-micro's auth package. Accounts with scopes, tokens
 * signed with jose (EdDSA or ES256), a client wrapper that attaches them, a server wrapper
 * that verifies them and checks rules before the handler runs.
 */
export { type Account, accountFromContext } from "./account.js";
export {
  type Auth,
  type AuthOptions,
  createAuth,
  DEFAULT_AUDIENCE,
  DEFAULT_CLOCK_TOLERANCE_SEC,
  DEFAULT_ISSUER,
  DEFAULT_TOKEN_CACHE_SIZE,
  DEFAULT_TOKEN_TTL_MS,
  type Token,
} from "./auth.js";
export {
  authCallWrapper,
  createTokenSource,
  DEFAULT_REFRESH_BEFORE_MS,
  selfIssued,
  type TokenSource,
  type TokenSourceOptions,
} from "./client.js";
export { type Algorithm, exportKeys, generateKeys, importKeys, type Key, type KeyPair } from "./keys.js";
export { type AuthMiddlewareOptions, authMiddleware } from "./middleware.js";
export {
  type Access,
  compileRules,
  type Rule,
  type RuleChecker,
  SCOPE_ACCOUNT,
  SCOPE_PUBLIC,
  type Verdict,
} from "./rules.js";
export { type AuthHandlerOptions, authHandlerWrapper, DEFAULT_AUTH_METADATA_KEY } from "./server.js";
