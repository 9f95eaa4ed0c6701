/**
 * Pinned behaviours of the HTTP broker's one request (broker/http-post.ts), against a real
 * HTTP server: what counts as taken, gone or failed, the error a refusal carries, and the one
 * resend when a kept-alive socket was closed under it.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { postToSubscriber, type SubscriberPost } from "../../src/broker/http-post.js";
import { MicroError } from "../../src/errors.js";
import { within } from "../helpers.js";

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

const post = (port: number, o: Partial<SubscriberPost> = {}) => ({
  host: "127.0.0.1",
  port,
  path: "/sub/orders",
  contentType: "application/x-test",
  agent: new http.Agent({ keepAlive: true }),
  signal: new AbortController().signal,
  ...o,
});

describe("post to a subscriber (pinned)", { timeout: 10_000 }, () => {
  it("2xx is ok, with the body, path and content type as given; the socket is reported", async () => {
    const seen: string[] = [];
    const { server, port } = await listen((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        seen.push(
          `${req.method} ${req.url} ${req.headers["content-type"]} ${req.headers["content-length"]} ${body}`,
        );
        res.writeHead(204).end();
      });
    });
    try {
      let sockets = 0;
      const p = post(port, { onSocket: () => sockets++ });
      assert.equal(await within(postToSubscriber(p, Buffer.from("hello")), 3000, "the post"), "ok");
      assert.deepEqual(seen, ["POST /sub/orders application/x-test 5 hello"]);
      assert.equal(sockets, 1);
      p.agent.destroy();
    } finally {
      server.close();
    }
  });

  it("404 and a refused connection are gone; 299 is ok; 300 is not", async () => {
    let status = 404;
    const { server, port } = await listen((_req, res) => res.writeHead(status).end());
    try {
      assert.equal(await within(postToSubscriber(post(port), Buffer.from("x")), 3000, "404"), "gone");
      status = 299;
      assert.equal(await within(postToSubscriber(post(port), Buffer.from("x")), 3000, "299"), "ok");
      status = 300;
      await assert.rejects(within(postToSubscriber(post(port), Buffer.from("x")), 3000, "300"), {
        code: 300,
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
    assert.equal(await within(postToSubscriber(post(port), Buffer.from("x")), 3000, "a closed port"), "gone");
  });

  it("any other answer rejects with the MicroError its body holds, or one with its status", async () => {
    let body = JSON.stringify({ id: "sub", code: 503, detail: "queue full", retryable: true });
    const { server, port } = await listen((_req, res) => res.writeHead(503).end(body));
    try {
      const err = await within(
        postToSubscriber(post(port), Buffer.from("x")).then(
          () => assert.fail("expected a rejection"),
          (e: unknown) => e,
        ),
        3000,
        "the refusal",
      );
      assert.ok(err instanceof MicroError);
      assert.deepEqual([err.id, err.code, err.detail], ["sub", 503, "queue full"]);
      body = "";
      await assert.rejects(within(postToSubscriber(post(port), Buffer.from("x")), 3000, "an empty 503"), {
        code: 503,
      });
    } finally {
      server.close();
    }
  });

  it("a kept-alive socket closed as it is reused: the post is sent again once, on a new socket", async () => {
    // A raw server: answers the first request and keeps the socket; resets it when the second
    // request arrives on it, as a subscriber that timed the idle socket out would.
    let requests = 0;
    const server = net.createServer((s) => {
      let first = true;
      s.on("data", () => {
        requests++;
        if (first) {
          first = false;
          s.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n");
        } else if (requests === 2) {
          s.resetAndDestroy();
        } else {
          s.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal(
        await within(postToSubscriber(post(port, { agent }), Buffer.from("a")), 3000, "the first post"),
        "ok",
      );
      assert.equal(
        await within(
          postToSubscriber(post(port, { agent }), Buffer.from("b")),
          3000,
          "the post on the reused socket",
        ),
        "ok",
      );
      assert.equal(requests, 3, "sent on the reused socket, reset, then sent once more");
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it("a reset on a new socket is not resent: the post fails with it", async () => {
    let requests = 0;
    const server = net.createServer((s) =>
      s.on("data", () => {
        requests++;
        s.resetAndDestroy();
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true });
    try {
      await assert.rejects(
        within(postToSubscriber(post(port, { agent }), Buffer.from("a")), 3000, "the post to fail"),
        { code: "ECONNRESET" },
      );
      assert.equal(requests, 1, "sent once");
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it("the resend happens once: a second reset on another kept-alive socket fails the post", async () => {
    // Each connection answers its first request and resets on its second.
    let requests = 0;
    const server = net.createServer((s) => {
      let seen = 0;
      s.on("data", () => {
        requests++;
        if (++seen === 1) s.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n");
        else s.resetAndDestroy();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    try {
      // Two posts at once leave two kept-alive sockets.
      const first = await within(
        Promise.all([
          postToSubscriber(post(port, { agent }), Buffer.from("a")),
          postToSubscriber(post(port, { agent }), Buffer.from("b")),
        ]),
        3000,
        "two posts on two sockets",
      );
      assert.deepEqual(first, ["ok", "ok"]);
      await assert.rejects(
        within(
          postToSubscriber(post(port, { agent }), Buffer.from("c")),
          3000,
          "the post on two reused sockets",
        ),
        { code: "ECONNRESET" },
      );
      assert.equal(requests, 4, "two posts, then one post sent twice, not three times");
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it("an answer cut off mid-body fails the post instead of leaving it waiting", async () => {
    const server = net.createServer((s) =>
      s.once("data", () => {
        s.write("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 100\r\n\r\npartial");
        setTimeout(() => s.destroy(), 20);
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true });
    try {
      await assert.rejects(
        within(
          postToSubscriber(post(port, { agent }), Buffer.from("a")),
          3000,
          "the cut-off answer to fail the post",
        ),
      );
    } finally {
      agent.destroy();
      server.close();
    }
  });
});
