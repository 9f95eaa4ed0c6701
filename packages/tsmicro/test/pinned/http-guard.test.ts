/**
 * Pinned behaviours of the guard in front of every tsmicro HTTP listener (transport/http-guard.ts):
 * which Host names a loopback listener answers to, which request targets it reads, and the
 * 421 and 400 answers, over a real HTTP server.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { describe, it } from "node:test";
import {
  defaultAllowedHosts,
  guardRequest,
  hostAllowed,
  LOOPBACK_HOSTS,
  requestPath,
} from "../../src/transport/http-guard.js";
import { within } from "../helpers.js";

describe("http guard (pinned)", { timeout: 10_000 }, () => {
  it("a listener bound to a loopback address answers loopback names only; any other binding, any Host", () => {
    for (const host of ["127.0.0.1", "127.9.9.9", "localhost", "::1", "[::1]"]) {
      assert.equal(defaultAllowedHosts(host), LOOPBACK_HOSTS, host);
    }
    for (const host of ["0.0.0.0", "10.0.0.1", "::", "[::]", "example.com", "128.0.0.1"]) {
      assert.equal(defaultAllowedHosts(host), undefined, host);
    }
  });

  it("hostAllowed ignores the port and case; a missing Host is refused", () => {
    assert.equal(hostAllowed("LOCALHOST:8080", LOOPBACK_HOSTS), true);
    assert.equal(hostAllowed("127.0.0.1", LOOPBACK_HOSTS), true);
    assert.equal(hostAllowed("[::1]:9", LOOPBACK_HOSTS), true);
    assert.equal(hostAllowed("127.0.0.1:", LOOPBACK_HOSTS), true);
    assert.equal(hostAllowed("evil.example:80", LOOPBACK_HOSTS), false);
    assert.equal(hostAllowed("localhost.evil.example", LOOPBACK_HOSTS), false);
    assert.equal(hostAllowed(undefined, LOOPBACK_HOSTS), false);
  });

  it("requestPath decodes an origin-form path and drops the query and fragment; refuses every other form", () => {
    assert.equal(requestPath("/a/b"), "/a/b");
    assert.equal(requestPath("/a%20b?x=1#f"), "/a b");
    assert.equal(requestPath("/a#f?x"), "/a");
    assert.equal(requestPath("/"), "/");
    for (const bad of [
      undefined,
      "",
      "a/b",
      "//evil.example/x",
      "http://h/x",
      "*",
      "/%zz",
      "/a%00b",
      "/%E0%A4%A",
    ]) {
      assert.equal(requestPath(bad), undefined, String(bad));
    }
  });

  it("guardRequest answers a foreign Host with 421 and a bad target with 400, as JSON, and passes a good one", async () => {
    const paths: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      const path = guardRequest(req, res, LOOPBACK_HOSTS);
      paths.push(path);
      if (path !== undefined) res.end(`ok ${path}`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    const get = (path: string, host: string) =>
      within(
        new Promise<{ status: number; type: string | undefined; cache: string | undefined; body: string }>(
          (resolve, reject) => {
            const req = http.request({ host: "127.0.0.1", port, path, headers: { host } }, (res) => {
              let body = "";
              res.on("data", (c) => {
                body += c;
              });
              res.on("end", () =>
                resolve({
                  status: res.statusCode ?? 0,
                  type: res.headers["content-type"],
                  cache: res.headers["cache-control"],
                  body,
                }),
              );
            });
            req.on("error", reject);
            req.end();
          },
        ),
        3000,
        `GET ${path} with Host ${host}`,
      );
    try {
      const ok = await get("/health?x=1", `localhost:${port}`);
      assert.deepEqual([ok.status, ok.body], [200, "ok /health"]);

      const foreign = await get("/health", "evil.example");
      assert.equal(foreign.status, 421);
      assert.equal(foreign.type, "application/json; charset=utf-8");
      assert.equal(foreign.cache, "no-store");
      assert.deepEqual(JSON.parse(foreign.body), {
        code: 421,
        detail: `host "evil.example" is not served here; allowed: ${LOOPBACK_HOSTS.join(", ")}`,
      });

      const bad = await get("/%zz", `127.0.0.1:${port}`);
      assert.equal(bad.status, 400);
      assert.deepEqual(JSON.parse(bad.body), {
        code: 400,
        detail: 'the request target must be a path starting with one "/", percent-encoded correctly',
      });
      assert.deepEqual(paths, ["/health", undefined, undefined]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("a request with no Host header at all (HTTP/1.0) is a 421 naming an empty host", async () => {
    const server = http.createServer((req, res) => {
      if (guardRequest(req, res, LOOPBACK_HOSTS) !== undefined) res.end("served");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    try {
      const answer = await within(
        new Promise<string>((resolve, reject) => {
          const s = net.connect(port, "127.0.0.1", () => s.write("GET /health HTTP/1.0\r\n\r\n"));
          let text = "";
          s.on("data", (c) => {
            text += c;
          });
          s.on("end", () => resolve(text));
          s.on("error", reject);
        }),
        3000,
        "the answer to a request without Host",
      );
      assert.match(answer, /^HTTP\/1\.1 421 /);
      assert.match(answer, /"detail":"host \\"\\" is not served here; allowed: /);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("with no allow-list any Host is served, and an answer already sent is not sent twice", async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(299);
      // The target is bad, but the headers are out: the guard must not try to answer again.
      const path = guardRequest(req, res, undefined);
      res.end(String(path));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    try {
      const status = await within(
        new Promise<number>((resolve, reject) => {
          const req = http.request(
            { host: "127.0.0.1", port, path: "/%zz", headers: { host: "any.example" } },
            (res) => {
              res.resume();
              res.on("end", () => resolve(res.statusCode ?? 0));
            },
          );
          req.on("error", reject);
          req.end();
        }),
        3000,
        "the answer",
      );
      assert.equal(status, 299, "the handler's own answer stands");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
