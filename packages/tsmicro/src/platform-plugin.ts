/**
 * The platform packages (issue 18) for backend authors: what a store, cache or config source
 * package builds on. Belongs in `tsmicro/plugin`; index.ts re-exports it until that exists.
 */

export { camelCase, leafPaths, mergeValues, parseScalar, setPath } from "./config/source.js";
export {
  applyQuery,
  type BackendWrite,
  compareKeys,
  defineStore,
  type Query as StoreBackendQuery,
  type Scope as StoreBackendScope,
  type StoreBackend,
  storeDefaults,
} from "./store/backend.js";
export { STORE_NAME_PATTERN, versionConflict } from "./store/check.js";
