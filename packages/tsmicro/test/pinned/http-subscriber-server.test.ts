/**
 * Pinned behaviours of the HTTP broker's subscriber side (broker/http-server.ts), over real
 * loopback requests: only `POST /broker/<id>` of a live subscription takes a message; the size
 * limit holds at exactly the limit, from the declared length and from a chunked body; a message
 * in many chunks arrives whole; undecodable bodies, wrong topics and closed subscriptions get
 * a JSON MicroError; a publisher that hangs up mid-body does not stop the server.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { BrokerMessage } from "../../src/broker/broker.js";
import { serveSubscriptions } from "../../src/broker/http-server.js";
import { encodeMessageFrame } from "../../src/broker/message-frame.js";
import type { SerialSubscription } from "../../src/broker/serial.js";
import { within } from "../helpers.js";

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

/** One request on its own connection; `chunked` sends the body without a content-length. */
function send(
  port: number,
  method: string,
  path: string,
  body?: Buffer,
  chunked = false,
  pieceGapMs = 0,
): Promise<Reply> {
  return within(
    new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method,
          path,
          agent: false,
          headers: body === undefined || chunked ? {} : { "content-length": body.length },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on("data", (c: Buffer) => parts.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              type: res.headers["content-type"],
              body: Buffer.concat(parts).toString(),
            }),
          );
        },
      );
      // The server may answer (413) and close before the whole body is written.
      req.on("error", reject);
      if (body !== undefined && chunked && pieceGapMs > 0) {
        // Pieces apart in time reach the server as separate chunks.
        void (async () => {
          for (let i = 0; i < body.length; i += 16) {
            req.write(body.subarray(i, i + 16));
            await new Promise((r) => setTimeout(r, pieceGapMs));
          }
          req.end();
        })();
        return;
      }
      if (body !== undefined && chunked) {
        for (let i = 0; i < body.length; i += 1000) req.write(body.subarray(i, i + 1000));
      } else if (body !== undefined) req.write(body);
      req.end();
    }),
    5000,
    `the answer to ${method} ${path}`,
  );
}

const frame = (topic: string, body: Buffer | string): Buffer =>
  encodeMessageFrame(topic, {
    headers: { a: "1" },
    body: typeof body === "string" ? Buffer.from(body) : body,
  });

describe("http broker subscriber server (pinned)", { timeout: 20_000 }, () => {
  const pushed: BrokerMessage[] = [];
  let open = true;
  const sub = {
    topic: "orders",
    below: async () => {},
    push: (m: BrokerMessage) => {
      if (!open) return false;
      pushed.push(m);
      return true;
    },
  } as unknown as SerialSubscription;
  const exact = frame("orders", "x".repeat(100));
  let server: http.Server;
  let port = 0;

  before(async () => {
    // Any id finds the subscription: what is refused is refused for its path or method.
    server = serveSubscriptions({ lookup: () => sub, maxMessageBytes: exact.length, maxPending: 10 });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("takes a message of exactly the limit: 202, with its headers and body", async () => {
    pushed.length = 0;
    const r = await send(port, "POST", "/broker/s1", exact);
    assert.equal(r.status, 202);
    assert.equal(pushed.length, 1);
    assert.deepEqual(pushed[0]!.headers, { a: "1" });
    assert.equal(Buffer.from(pushed[0]!.body).toString(), "x".repeat(100));
  });

  it("only POST /broker/<id>: other paths and methods are a JSON 404 naming the request", async () => {
    pushed.length = 0;
    for (const [method, path] of [
      ["POST", "/other"],
      ["POST", "/broker/"],
      ["GET", "/broker/s1"],
    ] as const) {
      const r = await send(port, method, path, method === "POST" ? exact : undefined);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.type, "application/json");
      const e = JSON.parse(r.body);
      assert.equal(e.id, "tsmicro");
      assert.equal(e.detail, `http broker: no subscription at ${method} ${path}`);
    }
    assert.equal(pushed.length, 0);
  });

  it("a target that does not decode is a 400", async () => {
    const r = await send(port, "POST", "/broker/%", exact);
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).detail, "http broker: the request target is not a valid path");
    assert.equal(JSON.parse(r.body).id, "tsmicro");
  });

  it("one byte over the limit is a 413 from the declared length, naming the size and the limit", async () => {
    const big = frame("orders", "x".repeat(100_000));
    const r = await send(port, "POST", "/broker/s1", big);
    assert.equal(r.status, 413);
    assert.equal(JSON.parse(r.body).id, "tsmicro");
    assert.equal(
      JSON.parse(r.body).detail,
      `http broker: message of ${big.length} bytes exceeds the subscriber's limit of ${exact.length}`,
    );
    const one = Buffer.concat([exact, Buffer.from("y")]);
    assert.equal((await send(port, "POST", "/broker/s1", one)).status, 413);
  });

  it("a chunked body over the limit is a 413 too; one at the limit in many chunks arrives whole", async () => {
    const big = frame("orders", "x".repeat(5000));
    const r = await send(port, "POST", "/broker/s1", big, true).catch((e: unknown) => e);
    // The server may close before the client finished writing: either the 413 or a reset.
    if (!(r instanceof Error)) assert.equal((r as Reply).status, 413);
    pushed.length = 0;
    const ok = await send(port, "POST", "/broker/s1", exact, true, 5);
    assert.equal(ok.status, 202);
    assert.equal(Buffer.from(pushed[0]!.body).toString(), "x".repeat(100));
  });

  it("an undecodable body or a message for another topic is a 400, and nothing is queued", async () => {
    pushed.length = 0;
    const garbage = await send(port, "POST", "/broker/s1", Buffer.from([0, 0, 0, 200, 1, 2]));
    assert.equal(garbage.status, 400);
    assert.match(JSON.parse(garbage.body).detail, /header length 200 runs past the end/);
    assert.equal(JSON.parse(garbage.body).id, "tsmicro");
    const other = await send(port, "POST", "/broker/s1", frame("payments", "x"));
    assert.equal(other.status, 400);
    assert.equal(JSON.parse(other.body).id, "tsmicro");
    assert.equal(
      JSON.parse(other.body).detail,
      `http broker: message for "payments" sent to a subscription to "orders"`,
    );
    assert.equal(pushed.length, 0);
  });

  it("a subscription that closed while the message arrived is a 404", async () => {
    open = false;
    try {
      const r = await send(port, "POST", "/broker/s1", exact);
      assert.equal(r.status, 404);
      assert.equal(JSON.parse(r.body).detail, "http broker: the subscription was closed");
      assert.equal(JSON.parse(r.body).id, "tsmicro");
    } finally {
      open = true;
    }
  });

  it("a publisher that hangs up mid-body does not stop the server", async () => {
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/broker/s1",
        agent: false,
        headers: { "content-length": exact.length },
      });
      req.on("error", () => resolve());
      req.write(exact.subarray(0, 10));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await send(port, "POST", "/broker/s1", exact)).status, 202);
  });
});
