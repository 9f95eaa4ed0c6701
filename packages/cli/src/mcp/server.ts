/**
 * An MCP server (`@modelcontextprotocol/sdk`) whose tools are service endpoints. A tool call is
 * an ordinary `client.call`: the client's deadline, wrappers (auth) and the stall doctor apply,
 * and a MicroError comes back as a tool error naming code, status and detail.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import {
  background,
  type Client,
  MicroError,
  newRequest,
  type Registry,
  withMetadata,
  withTimeout,
} from "tsmicro";
import { type AllowList, type ContractSource, listTools } from "./tools.js";

export interface McpOptions {
  registry: Registry;
  client: Client;
  /** Which services and endpoints are tools. */
  allow: AllowList;
  /** Contracts that give tools their JSON Schema and docs. @default [] */
  contracts?: readonly ContractSource[];
  /** Per call. @default 10000 */
  timeoutMs?: number;
  /** Metadata on every call (e.g. an authorization token for the services). @default {} */
  metadata?: Record<string, string>;
  /** @default "tsmicro" */
  name?: string;
}

export const DEFAULT_MCP_TIMEOUT_MS = 10_000;

export function createMcpServer(options: McpOptions): Server {
  const contracts = options.contracts ?? [];
  const server = new Server(
    { name: options.name ?? "tsmicro", version: "0.1.0" },
    { capabilities: { tools: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: (await listTools(options.registry, options.allow, contracts)).map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: t.inputSchema as { type: "object" },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    // Looked up again per call: a tool outside the allow-list does not exist, whatever its name.
    const tool = (await listTools(options.registry, options.allow, contracts)).find(
      (t) => t.name === req.params.name,
    );
    if (tool === undefined) {
      return {
        isError: true,
        content: [
          {
            type: "text" as const,
            text: `unknown tool "${req.params.name}" (not registered, or not allowed)`,
          },
        ],
      };
    }
    const ctx = withMetadata(
      withTimeout(background(), options.timeoutMs ?? DEFAULT_MCP_TIMEOUT_MS),
      options.metadata ?? {},
    );
    try {
      const rsp = await options.client.call(
        ctx,
        newRequest(tool.service, tool.endpoint, req.params.arguments ?? {}),
      );
      return { content: [{ type: "text" as const, text: JSON.stringify(rsp ?? null) }] };
    } catch (err) {
      const e = MicroError.from(err, "tsmicro-mcp");
      return {
        isError: true,
        content: [{ type: "text" as const, text: `${e.code} ${e.status}: ${e.detail}` }],
      };
    }
  });
  return server;
}
