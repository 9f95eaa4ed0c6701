/**
 * `createMcpServer` with a contract: the tool's input schema is the contract's zod schema as JSON
 * Schema, its description the contract's docs; calls go through the normal client, so the
 * deadline applies and a MicroError comes back as a tool error.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { createMemoryRegistry, defineContract, implement, newClient, newService, unary } from "tsmicro";
import { z } from "zod";
import { createMcpServer } from "../src/index.js";

const Orders = defineContract("Orders", {
  get: unary({
    request: z.object({ id: z.string().min(1) }),
    response: z.object({ id: z.string(), total: z.number() }),
  }),
  slow: unary<{ ms: number }, { ok: boolean }>(),
});

test("schema and docs from the contract; the client's deadline applies; only allowed services are tools", async () => {
  const registry = createMemoryRegistry();
  const service = newService({ name: "orders", registry, log: () => {} });
  service.handle(
    implement(Orders, {
      get: async (_ctx, req) => ({ id: req.id, total: 42 }),
      slow: async (ctx, req) => {
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, req.ms);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(t);
            reject(ctx.signal.reason);
          });
        });
        return { ok: true };
      },
    }),
  );
  const other = newService({ name: "billing", registry, log: () => {} });
  other.handle(
    implement(defineContract("Billing", { charge: unary<{ n: number }, { ok: boolean }>() }), {
      charge: async () => ({ ok: true }),
    }),
  );
  await service.start();
  await other.start();
  const client = newClient({ registry });
  const server = createMcpServer({
    registry,
    client,
    allow: ["orders"],
    contracts: [{ service: "orders", contract: Orders, docs: { get: "Fetches one order by its id." } }],
    timeoutMs: 300,
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const mcp = new Client({ name: "test", version: "1.0.0" });
  await mcp.connect(b);
  try {
    const { tools } = await mcp.listTools();
    assert.deepEqual(
      tools.map((t) => t.name),
      ["orders_Orders_get", "orders_Orders_slow"],
      "billing is not allowed",
    );
    const get = tools.find((t) => t.name === "orders_Orders_get")!;
    assert.equal(get.description, "Fetches one order by its id.");
    assert.deepEqual(get.inputSchema.properties, { id: { type: "string", minLength: 1 } });
    assert.deepEqual(get.inputSchema.required, ["id"]);
    const ok = await mcp.callTool({ name: "orders_Orders_get", arguments: { id: "o-1" } });
    assert.deepEqual(JSON.parse((ok.content as { text: string }[])[0]!.text), { id: "o-1", total: 42 });
    const invalid = await mcp.callTool({ name: "orders_Orders_get", arguments: { id: "" } });
    assert.equal(invalid.isError, true);
    assert.match(
      (invalid.content as { text: string }[])[0]!.text,
      /^400 Bad Request: invalid request for Orders\.get/,
    );
    const started = Date.now();
    const late = await mcp.callTool({ name: "orders_Orders_slow", arguments: { ms: 5000 } });
    assert.equal(late.isError, true);
    assert.match((late.content as { text: string }[])[0]!.text, /^408 Request Timeout/);
    assert.ok(Date.now() - started < 3000, "the deadline ended the call");
    const billing = await mcp.callTool({ name: "billing_Billing_charge", arguments: { n: 1 } });
    assert.equal(billing.isError, true);
  } finally {
    await mcp.close();
    await client.close();
    await service.stop();
    await other.stop();
  }
});
