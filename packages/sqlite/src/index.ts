export { createFileStore, DEFAULT_STORE_FILE, type FileStoreOptions, storeFromAddress } from "./store.js";
