/** @tsmicro/cli: the `tsmicro` command, usable as a library too (`main(argv)` resolves with the exit code). */
export { COMMANDS, main, usage } from "./main.js";
export { createMcpServer, DEFAULT_MCP_TIMEOUT_MS, type McpOptions } from "./mcp/server.js";
export type { AllowList, ContractSource, Tool } from "./mcp/tools.js";
