/** The HTTP gateway in front of a real service on loopback: calls, metadata, deadlines, errors, limits. */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import { createGateway, type Gateway } from "@tsmicro/gateway";
import { type Context, conflict, createMemoryRegistry, type MicroService, newService } from "tsmicro";
import { waitFor } from "tsmicro/testing";

const registry = createMemoryRegistry();
let service: MicroService;
let gateway: Gateway;
let base: string;
const aborted: string[] = [];

class Api {
  async echo(ctx: Context, req: unknown) {
    return {
      req,
      metadata: ctx.metadata,
      deadlineInMs: ctx.deadline === undefined ? null : ctx.deadline - Date.now(),
    };
  }
  async fail() {
    throw conflict("gw", "it conflicts");
  }
  async slow(ctx: Context, req: { ms: number; tag?: string }) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, req.ms);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(t);
        if (req.tag) aborted.push(req.tag);
        reject(ctx.signal.reason);
      });
    });
    return { slept: req.ms };
  }
}

before(async () => {
  service = newService({ name: "gw", registry });
  service.handle(new Api());
  await service.start();
  gateway = createGateway({ address: "127.0.0.1:0", registry });
  base = `http://${await gateway.listen()}`;
});

after(async () => {
  await gateway.close();
  await service.stop();
});

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { res, json: (await res.json()) as any };
}

describe("calls", () => {
  test("POST /api/{service}/{endpoint}: JSON in, JSON out, request id and timing headers", async () => {
    const { res, json } = await post("/api/gw/Api.echo", '{"hello":"world"}');
    assert.equal(res.status, 200);
    assert.deepEqual(json.req, { hello: "world" });
    assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(
      json.metadata["x-request-id"],
      res.headers.get("x-request-id"),
      "the request id travels as metadata",
    );
    assert.match(res.headers.get("server-timing") ?? "", /^call;dur=\d+(\.\d+)?$/);
  });
  test("request headers become metadata; the HTTP exchange's own headers do not", async () => {
    const { json } = await post("/api/gw/Api.echo", "{}", {
      "x-user": "ada",
      authorization: "Bearer t",
      "x-request-id": "req-1",
      cookie: "session=secret",
    });
    assert.equal(json.metadata["x-user"], "ada");
    assert.equal(json.metadata.authorization, "Bearer t");
    assert.equal(json.metadata["x-request-id"], "req-1", "a caller's request id is kept");
    for (const h of ["host", "content-type", "content-length", "cookie", "connection"]) {
      assert.equal(json.metadata[h], undefined, `${h} is not metadata`);
    }
  });
  test("an empty body is the request {}", async () => {
    const { res, json } = await post("/api/gw/Api.echo", "");
    assert.equal(res.status, 200);
    assert.deepEqual(json.req, {});
  });
});

describe("deadlines", () => {
  test("x-micro-timeout (ms) becomes the call's deadline, seen by the handler", async () => {
    const { json } = await post("/api/gw/Api.echo", "{}", { "x-micro-timeout": "1500" });
    assert.ok(json.deadlineInMs > 0 && json.deadlineInMs <= 1500, String(json.deadlineInMs));
  });
  test("grpc-timeout (e.g. 250m) too; a call past it is a 408 with the MicroError as problem+json", async () => {
    const started = Date.now();
    const { res, json } = await post("/api/gw/Api.slow", '{"ms":3000}', { "grpc-timeout": "250m" });
    assert.equal(res.status, 408);
    assert.equal(json.code, 408);
    assert.equal(json.status, 408, "problem+json: status is the HTTP status");
    assert.equal(json.title, "Request Timeout");
    assert.equal(res.headers.get("content-type"), "application/problem+json; charset=utf-8");
    assert.match(json.detail, /timed out after \d+ ms/);
    assert.ok(Date.now() - started < 2500);
  });
  test("a malformed deadline header is a 400 that says what is wrong", async () => {
    for (const headers of [
      { "x-micro-timeout": "soon" },
      { "grpc-timeout": "10x" },
      { "x-micro-timeout": "0" },
    ] as Record<string, string>[]) {
      const { res, json } = await post("/api/gw/Api.echo", "{}", headers);
      assert.equal(res.status, 400, JSON.stringify(headers));
      assert.match(json.detail, /timeout/);
    }
  });
  test("the HTTP client going away cancels the call on the service", async () => {
    const ctl = new AbortController();
    const call = fetch(`${base}/api/gw/Api.slow`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"ms":5000,"tag":"gone"}',
      signal: ctl.signal,
    }).catch(() => "aborted");
    // Abort once the handler runs (a fixed sleep raced the call under load).
    await waitFor("Api.slow to be handled", 5000, async () =>
      service.inflight().some((c) => c.side === "server" && c.endpoint === "Api.slow") ? true : undefined,
    );
    ctl.abort();
    assert.equal(await call, "aborted");
    const deadline = Date.now() + 3000;
    while (!aborted.includes("gone") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(aborted.includes("gone"), "the handler's signal aborted within 3 s of the HTTP client leaving");
  });
});

describe("errors", () => {
  test("a MicroError from the handler keeps its code as the HTTP status, with the error as the body", async () => {
    const { res, json } = await post("/api/gw/Api.fail", "{}");
    assert.equal(res.status, 409);
    assert.equal(json.id, "gw");
    assert.equal(json.detail, "it conflicts");
    assert.match(json.chain[0], /^gw\.Api\.fail@gw-/);
  });
  test("unknown service and unknown endpoint are 404s naming what is missing", async () => {
    const a = await post("/api/nosuch/X.y", "{}");
    assert.equal(a.res.status, 404);
    assert.match(a.json.detail, /nosuch/);
    const b = await post("/api/gw/Api.nope", "{}");
    assert.equal(b.res.status, 404);
    assert.match(b.json.detail, /endpoint "Api\.nope" not found.*Api\.echo/);
  });
  test("bad bodies: invalid JSON 400, not JSON 415, too large 413", async () => {
    const bad = await post("/api/gw/Api.echo", "{nope");
    assert.equal(bad.res.status, 400);
    assert.match(bad.json.detail, /not valid JSON/);
    const text = await post("/api/gw/Api.echo", "{}", { "content-type": "text/plain" });
    assert.equal(text.res.status, 415);
    const small = createGateway({ address: "127.0.0.1:0", registry, maxBodyBytes: 64, dashboard: false });
    const at = await small.listen();
    try {
      const res = await fetch(`http://${at}/api/gw/Api.echo`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ pad: "x".repeat(200) }),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(res.status, 413);
      assert.match(((await res.json()) as { detail: string }).detail, /over the limit of 64/);
    } finally {
      await small.close();
    }
  });
  test("wrong method 405, wrong path 404", async () => {
    const get = await fetch(`${base}/api/gw/Api.echo`, { signal: AbortSignal.timeout(5000) });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    await get.text();
    const short = await post("/api/gw", "{}");
    assert.equal(short.res.status, 404);
  });
  test("a Host that is not loopback is refused on a loopback-bound gateway (DNS rebinding)", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(base);
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: "/health", headers: { host: "evil.example:80" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 421);
  });
});

describe("health and dashboard data", () => {
  test("GET /health answers for the gateway", async () => {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; registry: string };
    assert.equal(body.status, "ok");
    assert.match(body.registry, /memory/);
  });
  test("GET /health/{service} asks every node Debug.Health: 200 when all are ok, 404 for no nodes", async () => {
    const ok = await fetch(`${base}/health/gw`, { signal: AbortSignal.timeout(5000) });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as {
      healthy: boolean;
      nodes: { node: string; result: { status: string } }[];
    };
    assert.equal(body.healthy, true);
    assert.equal(body.nodes[0]!.node, service.nodeId);
    assert.equal(body.nodes[0]!.result.status, "ok");
    const none = await fetch(`${base}/health/nosuch`, { signal: AbortSignal.timeout(5000) });
    assert.equal(none.status, 404);
    await none.text();
  });
  test("GET /health/{service} is 503 when a node does not answer", async () => {
    // A registered node whose address nobody listens on.
    const ghost = {
      name: "gw",
      version: "ghost",
      metadata: {},
      endpoints: [],
      nodes: [{ id: "gw-ghost", address: "127.0.0.1:1", metadata: {} }],
    };
    await registry.register(ghost);
    try {
      const res = await fetch(`${base}/health/gw`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 503);
      const body = (await res.json()) as {
        healthy: boolean;
        nodes: { node: string; error?: { code: number } }[];
      };
      assert.equal(body.healthy, false);
      assert.ok(body.nodes.find((n) => n.node === "gw-ghost")?.error, "the ghost node's error is listed");
    } finally {
      await registry.deregister(ghost);
    }
  });
  test("/_/stats counts the calls and errors that passed through, with percentiles", async () => {
    for (let i = 0; i < 3; i++) await post("/api/gw/Api.echo", "{}");
    const stats = (await (await fetch(`${base}/_/stats`)).json()) as any[];
    const echo = stats.find((s) => s.endpoint === "Api.echo");
    const fail = stats.find((s) => s.endpoint === "Api.fail");
    assert.ok(echo.total.calls >= 3);
    assert.equal(echo.total.errors, 0);
    assert.ok(echo.total.p50 > 0 && echo.total.p99 >= echo.total.p50);
    assert.equal(echo.t.length, 60);
    assert.ok(fail.total.errors >= 1 && fail.total.errors === fail.total.calls);
  });
  test("/_/events pushes the services, and again when a service appears (registry watch)", async () => {
    const ctl = new AbortController();
    const res = await fetch(`${base}/_/events`, { signal: ctl.signal });
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    const nextServices = async (what: string): Promise<{ name: string }[]> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const m = /event: services\ndata: (.*)\n\n/.exec(buffer);
        if (m !== null) {
          buffer = buffer.slice(m.index + m[0].length);
          return JSON.parse(m[1]!).services;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${what}`);
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, rej) =>
            setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), left),
          ),
        ]);
        if (chunk.done) throw new Error(`stream ended while waiting for ${what}`);
        buffer += chunk.value;
      }
    };
    try {
      const first = await nextServices("the first services event");
      assert.deepEqual(
        first.map((s) => s.name),
        ["gw"],
      );
      const late = newService({ name: "late", registry });
      late.handle(new Api());
      await late.start();
      try {
        let names: string[] = [];
        while (!names.includes("late"))
          names = (await nextServices("a services event with the new service")).map((s) => s.name);
        assert.deepEqual(names, ["gw", "late"]);
      } finally {
        await late.stop();
      }
    } finally {
      ctl.abort();
    }
  });
  test("the dashboard page and its script are served", async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>tsmicro dashboard<\/title>/);
    for (const path of ["/app.js", "/style.css", "/_/uplot.js", "/_/uplot.css"]) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 200, path);
      assert.ok((await r.text()).length > 100, path);
    }
  });
});
