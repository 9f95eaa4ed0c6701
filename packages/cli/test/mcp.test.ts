/**
 * `tsmicro mcp` driven by the MCP SDK's own client, against a real demo service: tools listed and
 * called over stdio and over Streamable HTTP; an endpoint outside the allow-list cannot be called;
 * HTTP without the bearer token is refused.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { BIN, type Demo, jsonLine, startDemo } from "./helpers.js";

let demo: Demo;
before(async () => {
  demo = await startDemo(`mcp-${process.pid}`);
});
after(() => demo.stop());

type Content = { type: string; text: string }[];

async function exercise(client: Client): Promise<void> {
  const hello = `${demo.name}_Greeter_hello`.replace(/[^A-Za-z0-9_-]/g, "_");
  const fail = `${demo.name}_Greeter_fail`.replace(/[^A-Za-z0-9_-]/g, "_");
  const { tools } = await client.listTools();
  assert.deepEqual(
    tools.map((t) => t.name),
    [hello],
    "only the allowed endpoint is a tool",
  );
  assert.deepEqual(tools[0]!.inputSchema, { type: "object", properties: { name: { type: "string" } } });
  assert.match(tools[0]!.description ?? "", /Greeter\.hello/);
  const r = await client.callTool({ name: hello, arguments: { name: "mcp" } });
  assert.notEqual(r.isError, true, JSON.stringify(r));
  assert.deepEqual(JSON.parse((r.content as Content)[0]!.text), { message: "Hello mcp" });
  const refused = await client.callTool({ name: fail, arguments: { why: "outside the allow-list" } });
  assert.equal(refused.isError, true);
  assert.match((refused.content as Content)[0]!.text, /unknown tool .*not allowed/);
}

test("stdio: list the tools and call one; an endpoint outside the allow-list cannot be called", async () => {
  const client = new Client({ name: "test", version: "1.0.0" });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "mcp", "--allow", `${demo.name}.Greeter.hello`],
    env: demo.env as Record<string, string>,
    stderr: "ignore",
  });
  await client.connect(transport);
  try {
    await exercise(client);
  } finally {
    await client.close();
  }
});

test("Streamable HTTP on 127.0.0.1 with a bearer token: list and call; no token, no tools", async () => {
  const token = `t-${process.pid}-${"x".repeat(20)}`;
  const child = spawn(
    process.execPath,
    [BIN, "mcp", "--http", "--json", "--allow", `${demo.name}.Greeter.hello`, "--token", token],
    { env: demo.env, stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    const { url } = await jsonLine<{ url: string }>(
      child,
      "url",
      15_000,
      "tsmicro mcp --http to print its url",
    );
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const anonymous = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(anonymous.status, 401);
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGINT");
    await exited;
  }
  assert.equal(child.exitCode, 0);
});
