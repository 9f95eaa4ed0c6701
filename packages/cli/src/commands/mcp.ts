import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { listenAt, parseAddress } from "tsmicro/plugin";
import { UsageError } from "../args.js";
import type { Command } from "../context.js";
import { createMcpServer, type McpOptions } from "../mcp/server.js";
import { untilStopped } from "../stop.js";

export const DEFAULT_MCP_ADDRESS = "127.0.0.1:0";

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const mcp: Command = {
  usage: "mcp [--http] [--allow service|service.Endpoint ...] [--token t]",
  summary:
    "serve registered endpoints as MCP tools: stdio (all allowed unless --allow), or --http on 127.0.0.1 with a bearer token (none allowed unless --allow)",
  minArgs: 0,
  maxArgs: 0,
  async run({ flags, out, registry, client }) {
    const stopped = untilStopped(out.closed);
    const options: McpOptions = {
      registry: await registry(),
      client: await client(),
      allow: flags.allow.length > 0 ? flags.allow : flags.http ? [] : "all",
      metadata: flags.metadata,
      ...(flags.timeoutMs === undefined ? {} : { timeoutMs: flags.timeoutMs }),
    };
    if (!flags.http) {
      // stdout is the protocol: nothing else may be written there.
      const server = createMcpServer(options);
      const closed = new Promise<void>((resolve) => {
        server.onclose = resolve;
      });
      await server.connect(new StdioServerTransport());
      process.stderr.write(`tsmicro: MCP over stdio, registry ${options.registry.name}\n`);
      await Promise.race([stopped, closed]);
      await server.close();
      return 0;
    }
    const token = flags.token ?? process.env.TSMICRO_MCP_TOKEN ?? randomBytes(24).toString("base64url");
    if (token.length < 16) throw new UsageError("--token must be at least 16 characters");
    const address = flags.address ?? DEFAULT_MCP_ADDRESS;
    checkAddress(address);
    const http = createServer(async (req, res) => {
      const auth = req.headers.authorization ?? "";
      if (!auth.startsWith("Bearer ") || !sameToken(auth.slice(7), token)) {
        res.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" });
        res.end(JSON.stringify({ error: "a bearer token is required (Authorization: Bearer <token>)" }));
        return;
      }
      // Stateless: one server and transport per request.
      const server = createMcpServer(options);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on("close", () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(req, res);
      } catch (err) {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: (err as Error).message }));
      }
    });
    const url = `http://${await listenAt(http, address, "--address")}/mcp`;
    const allowed = options.allow === "all" ? "all" : options.allow.join(", ") || "nothing (use --allow)";
    if (out.json) out.data({ url, allow: options.allow });
    else out.line(`tsmicro: MCP over Streamable HTTP on ${url}; tools: ${allowed}; Ctrl-C stops`);
    if (flags.token === undefined && process.env.TSMICRO_MCP_TOKEN === undefined) {
      process.stderr.write(
        `tsmicro: bearer token (pass --token or TSMICRO_MCP_TOKEN to choose it): ${token}\n`,
      );
    }
    await stopped;
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
    return 0;
  },
};

/** A bad --address is a usage error (exit 2), as every other flag's. */
function checkAddress(address: string): void {
  try {
    parseAddress(address, "--address");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
