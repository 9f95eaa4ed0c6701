/**
 * Pinned behaviours of the server's unary dispatch (server/server.ts), driven with stand-in
 * inbound requests: a request for another service or an unknown endpoint is a 404 that says what
 * is served; an unknown content type a 415; an undecodable body a 400 naming the endpoint; a
 * result the codec cannot encode a 500; the handler's error goes back with the chain; the
 * wrappers run around the route; in-flight records, the active count and `idle()`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CodecRegistry } from "../../src/codec/codec.js";
import { createJsonCodec } from "../../src/codec/json.js";
import type { Context } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";
import type { HandlerWrapper } from "../../src/server/invoke.js";
import { Server, type ServerOptions } from "../../src/server/server.js";
import type { InboundRequest, RequestHeaders, TransportResponse } from "../../src/transport/transport.js";
import { LightAbort } from "../../src/util/light-abort.js";
import { within } from "../helpers.js";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));

interface Outcome {
  response?: TransportResponse;
  error?: MicroError;
}

/** Dispatches one request and resolves with what the server answered. */
function send(
  server: Server,
  headers: Partial<RequestHeaders>,
  body: Uint8Array = enc({}),
  signal = new LightAbort(),
): Promise<Outcome> {
  return within(
    new Promise<Outcome>((resolve) => {
      const inbound: InboundRequest = {
        headers: { service: "orders", endpoint: "Orders.get", contentType: "application/json", ...headers },
        body,
        signal,
        peer: "127.0.0.1:1",
        respond: (response) => resolve({ response }),
        fail: (error) => resolve({ error }),
      };
      server.dispatch(inbound);
    }),
    5000,
    `an answer to ${headers.endpoint ?? "Orders.get"}`,
  );
}

function newServer(o: Partial<ServerOptions> = {}): Server {
  return new Server({
    name: "orders",
    nodeId: "orders-1",
    codecs: new CodecRegistry([createJsonCodec()]),
    wrappers: [],
    bulkhead: undefined,
    trackInflight: true,
    ...o,
  });
}

class Orders {
  async get(_ctx: Context, req: { id: number }) {
    return { id: req.id, total: 5 };
  }
  async meta(ctx: Context) {
    return { metadata: { ...ctx.metadata }, chain: ctx.chain };
  }
  async fails() {
    throw new Error("database down");
  }
  async refuses() {
    throw new MicroError({ id: "stock", code: 409, detail: "out of stock" });
  }
  async big() {
    return { n: 10n };
  }
}

class Debug {
  async health() {
    return {};
  }
}

describe("server dispatch (pinned)", { timeout: 20_000 }, () => {
  it("answers a good request with the codec's content type and the encoded result", async () => {
    const server = newServer();
    assert.deepEqual(server.handle(new Orders()), [
      "Orders.get",
      "Orders.meta",
      "Orders.fails",
      "Orders.refuses",
      "Orders.big",
    ]);
    const { response, error } = await send(server, {}, enc({ id: 7 }));
    assert.equal(error, undefined);
    assert.equal(response!.contentType, "application/json");
    assert.deepEqual(dec(response!.body), { id: 7, total: 5 });
  });

  it("a request for another service is a 404 saying what this node serves", async () => {
    const server = newServer();
    server.handle(new Orders());
    const { error } = await send(server, { service: "billing" });
    assert.equal(error?.code, 404);
    assert.equal(error.id, "orders");
    assert.equal(
      error.detail,
      'service "billing" is not served at this address (node orders-1 serves "orders")',
    );
  });

  it("an unknown endpoint is a 404 listing the endpoints, without Debug ones", async () => {
    const server = newServer();
    server.handle(new Debug());
    const none = await send(server, { endpoint: "Orders.nope" });
    assert.equal(none.error?.code, 404);
    assert.equal(
      none.error.detail,
      'endpoint "Orders.nope" not found on service "orders"; it has: no endpoints',
    );
    server.handle(new Orders(), { name: "Orders" });
    const some = await send(server, { endpoint: "Orders.nope" });
    assert.equal(some.error?.id, "orders");
    assert.equal(
      some.error.detail,
      'endpoint "Orders.nope" not found on service "orders"; it has: Orders.get, Orders.meta, Orders.fails, Orders.refuses, Orders.big',
    );
    // The endpoint is checked before the content type and the body: a 404 says what to fix first.
    for (const [headers, body] of [
      [{ endpoint: "Orders.nope", contentType: "text/csv" }, enc({})],
      [{ endpoint: "Orders.nope" }, new TextEncoder().encode("{not json")],
    ] as const) {
      const first = await send(server, headers, body);
      assert.equal(first.error?.code, 404, JSON.stringify(headers));
      assert.match(first.error.detail, /^endpoint "Orders\.nope" not found/);
    }
  });

  it("an unknown content type is a 415 from this service; an undecodable body a 400 naming the endpoint", async () => {
    const server = newServer();
    server.handle(new Orders());
    const type = await send(server, { contentType: "text/csv" });
    assert.equal(type.error?.code, 415);
    assert.equal(type.error.id, "orders");
    assert.match(type.error.detail, /unsupported content type "text\/csv"/);
    const body = await send(server, {}, new TextEncoder().encode("{not json"));
    assert.equal(body.error?.code, 400);
    assert.equal(body.error.id, "orders");
    assert.match(
      body.error.detail,
      /^cannot decode the request body for orders\.Orders\.get as application\/json: \S/,
    );
    assert.equal(server.active, 0, "nothing was started for a refused request");
  });

  it("a result the codec cannot encode is a 500 with the chain; the handler's error goes back with the chain", async () => {
    const server = newServer();
    server.handle(new Orders());
    const big = await send(server, { endpoint: "Orders.big", chain: ["web.Home.index@web-1"] });
    assert.equal(big.error?.code, 500);
    assert.equal(big.error.id, "orders");
    assert.match(big.error.detail, /^cannot encode the response of orders\.Orders\.big: \S/);
    assert.deepEqual([...big.error.chain], ["web.Home.index@web-1", "orders.Orders.big@orders-1"]);

    const fails = await send(server, { endpoint: "Orders.fails" });
    assert.equal(fails.error?.code, 500);
    assert.match(fails.error.detail, /database down/);
    assert.deepEqual([...fails.error.chain], ["orders.Orders.fails@orders-1"]);
    const refuses = await send(server, { endpoint: "Orders.refuses" });
    assert.equal(refuses.error?.code, 409);
    assert.equal(refuses.error.id, "stock");
    assert.equal(server.active, 0);
  });

  it("the handler sees the request's metadata (none: an empty object) and its chain", async () => {
    const server = newServer();
    server.handle(new Orders());
    const withMeta = await send(server, { endpoint: "Orders.meta", metadata: { tenant: "a" } });
    assert.deepEqual(dec(withMeta.response!.body), {
      metadata: { tenant: "a" },
      chain: ["orders.Orders.meta@orders-1"],
    });
    const without = await send(server, { endpoint: "Orders.meta" });
    assert.deepEqual(dec(without.response!.body).metadata, {});
  });

  it("wrappers run around the route, outermost first, and see the endpoint; one that reroutes to nothing gets the 404", async () => {
    const seen: string[] = [];
    const tag =
      (label: string): HandlerWrapper =>
      (next) =>
      async (ctx, req) => {
        seen.push(`${label}>${req.endpoint}`);
        const r = (await next(ctx, req)) as Record<string, unknown>;
        return { ...r, [label]: true };
      };
    const server = newServer({ wrappers: [tag("outer"), tag("inner")] });
    server.handle(new Orders());
    const ok = await send(server, {}, enc({ id: 1 }));
    assert.deepEqual(dec(ok.response!.body), { id: 1, total: 5, inner: true, outer: true });
    assert.deepEqual(seen, ["outer>Orders.get", "inner>Orders.get"]);

    const reroute: HandlerWrapper = (next) => (ctx, req) => next(ctx, { ...req, endpoint: "Orders.gone" });
    const lost = newServer({ wrappers: [reroute] });
    lost.handle(new Orders());
    const { error } = await send(lost, {});
    assert.equal(error?.code, 404);
    assert.match(error.detail, /^endpoint "Orders\.gone" not found on service "orders"/);
  });

  it("tracks handling requests when asked (not otherwise); active and idle follow them", async () => {
    let release = () => {};
    let gate = Promise.resolve();
    class Slow {
      async wait() {
        await gate;
        return { done: true };
      }
    }
    for (const trackInflight of [true, false]) {
      gate = new Promise<void>((r) => {
        release = r;
      });
      const server = newServer({ trackInflight });
      server.handle(new Slow());
      await server.idle();
      const answered = send(server, { endpoint: "Slow.wait", timeoutMs: 60_000 });
      assert.equal(server.active, 1);
      const rows = server.inflight();
      if (trackInflight) {
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.side, "server");
        assert.equal(rows[0]!.endpoint, "Slow.wait");
        assert.equal(rows[0]!.service, "orders");
        assert.equal(rows[0]!.phase, "handling");
        assert.equal(server.stuck.takeStuck(0).length, 1);
      } else {
        assert.deepEqual(rows, []);
        assert.deepEqual(server.stuck.takeStuck(0), []);
      }
      let idle = false;
      const idled = server.idle().then(() => {
        idle = true;
      });
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(idle, false, "not idle while a request runs");
      release();
      assert.deepEqual(dec((await answered).response!.body), { done: true });
      await within(idled, 5000, "idle() once the request ended");
      assert.equal(server.active, 0);
      assert.deepEqual(server.inflight(), []);
    }
  });
});
