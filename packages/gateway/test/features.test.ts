/**
 * Issue 15's gateway, end to end against a real service on loopback: REST routes, CORS,
 * a rate limit per client, server streams as Server-Sent Events, errors as problem+json,
 * the OpenAPI 3.1 document (checked by a maintained validator), and @tsmicro/auth at the edge.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { createAuth, generateKeys, SCOPE_ACCOUNT, SCOPE_PUBLIC } from "@tsmicro/auth";
import { createGateway, type Gateway, type GatewayOptions } from "@tsmicro/gateway";
import { createMemoryRegistry, type MicroService } from "tsmicro";
import { Orders, startOrders } from "./fixture.js";

const registry = createMemoryRegistry();
let service: MicroService;
const open: Gateway[] = [];

async function gatewayWith(options: GatewayOptions = {}): Promise<string> {
  const g = createGateway({ address: "127.0.0.1:0", registry, log: () => {}, ...options });
  open.push(g);
  return `http://${await g.listen()}`;
}

const apis = [
  {
    service: "orders",
    contract: Orders,
    http: {
      get: "GET /orders/{id}",
      create: "POST /orders",
      remove: "DELETE /orders/{id}",
      watch: "GET /orders/watch/{count}",
    },
  },
];

before(async () => {
  service = await startOrders(registry);
});
after(async () => {
  for (const g of open) await g.close();
  await service.stop();
});

const timeout = () => AbortSignal.timeout(5000);

describe("REST routes", () => {
  let base: string;
  before(async () => {
    base = await gatewayWith({
      apis,
      rest: { "GET /v1/echo/{word}": { service: "orders", endpoint: "Api.echo" } },
    });
  });
  test("GET /orders/{id} calls Orders.get with the path and query parameters", async () => {
    const r = await fetch(`${base}/orders/o%2F7?full=1`, { signal: timeout() });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { id: "o/7", total: 42, full: true });
  });
  test("POST /orders takes the JSON body; DELETE /orders/{id} needs none", async () => {
    const created = await fetch(`${base}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"item":"tea","qty":2}',
      signal: timeout(),
    });
    assert.deepEqual(await created.json(), { id: "tea-2" });
    const removed = await fetch(`${base}/orders/9`, { method: "DELETE", signal: timeout() });
    assert.deepEqual(await removed.json(), { removed: "9" });
  });
  test("a route table entry maps onto a class endpoint; a wrong method is a 405 naming the allowed ones", async () => {
    const r = await fetch(`${base}/v1/echo/hi`, { signal: timeout() });
    assert.deepEqual(((await r.json()) as { req: unknown }).req, { word: "hi" });
    const wrong = await fetch(`${base}/orders/7`, { method: "PUT", signal: timeout() });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "GET, DELETE");
    await wrong.text();
  });
  test("a schema failure through REST is a 400 problem naming the field", async () => {
    const r = await fetch(`${base}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"item":"tea","qty":-1}',
      signal: timeout(),
    });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get("content-type"), "application/problem+json; charset=utf-8");
    const p = (await r.json()) as Record<string, unknown>;
    assert.equal(p.type, "about:blank");
    assert.equal(p.title, "Bad Request");
    assert.equal(p.status, 400);
    assert.equal(p.code, 400);
    // MicroError.id is the service that raised the error (issue 13), here the one serving Orders.
    assert.equal(p.id, "orders", "the MicroError's id: the service that refused it");
    assert.match(String(p.detail), /qty/);
    assert.match(String(p.instance), /^urn:request:/);
    assert.equal(p.retryable, false);
  });
});

describe("server streams as Server-Sent Events", () => {
  let base: string;
  before(async () => {
    base = await gatewayWith({ apis });
  });
  const events = async (res: Response) =>
    (await res.text())
      .split("\n\n")
      .filter((f) => f.trim() !== "")
      .map((f) => ({
        event: /^event: (.*)$/m.exec(f)?.[1],
        data: JSON.parse(/^data: (.*)$/m.exec(f)?.[1] ?? "null"),
      }));

  test("POST /api/orders/Orders.watch streams every message, then end", async () => {
    const r = await fetch(`${base}/api/orders/Orders.watch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"count":5}',
      signal: timeout(),
    });
    assert.equal(r.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.deepEqual(await events(r), [
      ...[0, 1, 2, 3, 4].map((n) => ({ event: "message", data: { n } })),
      { event: "end", data: {} },
    ]);
  });
  test("GET through a REST route (what EventSource sends), and an error mid-stream is an error event", async () => {
    const ok = await events(await fetch(`${base}/orders/watch/3`, { signal: timeout() }));
    assert.equal(ok.length, 4);
    const broken = await events(
      await fetch(`${base}/api/orders/Orders.watch?count=5&failAt=2`, { signal: timeout() }),
    );
    assert.deepEqual(
      broken.slice(0, 2).map((e) => e.data),
      [{ n: 0 }, { n: 1 }],
    );
    assert.equal(broken[2]?.event, "error");
    assert.match(broken[2]?.data.detail, /stream broke at 2/);
  });
});

describe("CORS", () => {
  let base: string;
  before(async () => {
    base = await gatewayWith({ apis, cors: { origins: ["https://shop.example"] } });
  });
  const preflight = (origin: string, method = "POST", headers = "content-type, authorization") =>
    fetch(`${base}/api/orders/Orders.create`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
      signal: timeout(),
    });
  test("a preflight from an allowed origin is granted; others get no grant", async () => {
    const ok = await preflight("https://shop.example");
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get("access-control-allow-origin"), "https://shop.example");
    assert.match(ok.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.match(ok.headers.get("access-control-allow-headers") ?? "", /authorization/);
    assert.equal(ok.headers.get("access-control-max-age"), "600");
    const evil = await preflight("https://evil.example");
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get("access-control-allow-origin"), null);
    const header = await preflight("https://shop.example", "POST", "x-secret-thing");
    assert.equal(header.status, 403, "a header outside the list is not granted");
  });
  test("the actual request carries the grant for an allowed origin only; the dashboard's data never", async () => {
    const call = (origin: string) =>
      fetch(`${base}/orders/7`, { headers: { origin }, signal: timeout() }).then(async (r) => {
        await r.text();
        return r.headers;
      });
    assert.equal(
      (await call("https://shop.example")).get("access-control-allow-origin"),
      "https://shop.example",
    );
    assert.match(
      (await call("https://shop.example")).get("access-control-expose-headers") ?? "",
      /x-request-id/,
    );
    assert.equal((await call("https://evil.example")).get("access-control-allow-origin"), null);
    const data = await fetch(`${base}/_/services`, {
      headers: { origin: "https://shop.example" },
      signal: timeout(),
    });
    await data.text();
    assert.equal(data.headers.get("access-control-allow-origin"), null);
  });
});

describe("rate limit per client", () => {
  test("the burst passes, the next call is a 429 with retry-after, and another client is not held back", async () => {
    const keys = await generateKeys();
    const auth = createAuth({ ...keys });
    const base = await gatewayWith({
      auth: {
        auth,
        rules: [
          { id: "all", resource: { service: "*", endpoint: "*" }, scope: SCOPE_PUBLIC, access: "allow" },
        ],
      },
      rateLimit: { requestsPerSecond: 1, burst: 5 },
    });
    const token = async (id: string) =>
      `Bearer ${(await auth.generate({ id, scopes: [], metadata: {} })).accessToken}`;
    const ada = await token("ada");
    const bob = await token("bob");
    const call = (authorization: string) =>
      fetch(`${base}/api/orders/Api.echo`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization },
        body: "{}",
        signal: timeout(),
      }).then(async (r) => {
        const body = (await r.json()) as { detail?: string };
        return { status: r.status, retryAfter: r.headers.get("retry-after"), body };
      });
    const first = [];
    for (let i = 0; i < 6; i++) first.push(await call(ada));
    assert.deepEqual(
      first.map((r) => r.status),
      [200, 200, 200, 200, 200, 429],
    );
    assert.equal(first[5]!.retryAfter, "1");
    assert.match(first[5]!.body.detail ?? "", /rate limit of 1 requests\/s/);
    assert.equal((await call(bob)).status, 200, "bob has a bucket of his own");
  });
});

describe("the OpenAPI 3.1 document", () => {
  test("is served at /openapi.json and validates; contract schemas and REST routes are in it", async () => {
    const base = await gatewayWith({ apis, openapi: { title: "shop", version: "1.2.3" } });
    const doc = (await (await fetch(`${base}/openapi.json`, { signal: timeout() })).json()) as any;
    const validator = new Validator();
    const result = await validator.validate(doc);
    assert.equal(validator.version, "3.1");
    assert.deepEqual(result, { valid: true }, JSON.stringify(result.errors, null, 2));
    assert.equal(doc.info.title, "shop");
    const create = doc.paths["/api/orders/Orders.create"].post;
    assert.deepEqual(create.requestBody.content["application/json"].schema.required, ["item", "qty"]);
    assert.equal(create.requestBody.content["application/json"].schema.properties.qty.type, "integer");
    assert.ok(doc.paths["/orders/{id}"].get, "the REST route is documented");
    assert.deepEqual(doc.paths["/orders/{id}"].get.parameters[0], {
      name: "id",
      in: "path",
      required: true,
      schema: { type: "string" },
    });
    assert.ok(doc.paths["/api/orders/Orders.watch"].post.responses["200"].content["text/event-stream"]);
    assert.ok(
      doc.paths["/api/orders/Api.echo"],
      "a loopback caller also sees registered services without a contract",
    );
    assert.equal(
      doc.paths["/api/orders/Api.echo"].post.requestBody.content["application/json"].schema.type,
      undefined,
      "no schema published: any JSON",
    );
  });
});

describe("@tsmicro/auth at the gateway", () => {
  test("rules decide the calls; the dashboard's data needs the admin scope", async () => {
    const keys = await generateKeys();
    const auth = createAuth({ ...keys });
    const base = await gatewayWith({
      apis,
      auth: {
        auth,
        rules: [
          {
            id: "public-get",
            resource: { service: "orders", endpoint: "Orders.get" },
            scope: SCOPE_PUBLIC,
            access: "allow",
          },
          {
            id: "accounts",
            resource: { service: "orders", endpoint: "*" },
            scope: SCOPE_ACCOUNT,
            access: "allow",
          },
        ],
      },
    });
    const user = `Bearer ${(await auth.generate({ id: "ada", scopes: [], metadata: {} })).accessToken}`;
    const admin = `Bearer ${(await auth.generate({ id: "ops", scopes: ["admin"], metadata: {} })).accessToken}`;
    const status = async (path: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${base}${path}`, { headers, signal: timeout() });
      await r.text();
      return r.status;
    };
    assert.equal(await status("/orders/1"), 200, "a public rule lets anyone call");
    assert.equal(await status("/api/orders/Orders.watch?count=1"), 401, "no token, no account rule");
    assert.equal(await status("/api/orders/Orders.watch?count=1", { authorization: user }), 200);
    assert.equal(
      await status("/orders/1", { authorization: "Bearer not-a-token" }),
      401,
      "a bad token is refused",
    );
    assert.equal(await status("/_/services"), 401);
    assert.equal(await status("/_/services", { authorization: user }), 403);
    assert.equal(await status("/_/services", { authorization: admin }), 200);
    assert.equal(await status("/"), 200, "the page itself holds no data and loads to ask for a token");
  });
});
