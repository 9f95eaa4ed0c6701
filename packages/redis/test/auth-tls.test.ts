/**
 * Redis ACL users and TLS with server identity (issue 19), against a private redis-server this
 * test starts on a free loopback port with TLS only (no plaintext port) and the default user
 * off: an ACL user over TLS carries messages through the broker; no user, a wrong password,
 * plaintext and a server certificate from another CA are each refused.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { freePort } from "tsmicro/testing";
import { makeTestPki, type TestPki } from "../../tsmicro/test/support/certs.js";
import { createRedisPubSubBroker, type RedisConnectionOptions, redisSecurityOptions } from "../src/index.js";

let pki: TestPki;
let server: ChildProcess;
let port: number;
let dir: string;
let stderr = "";

before(async () => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), "tsmicro-redis-sec-"));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  port = await freePort();
  const conf = file(
    "redis.conf",
    [
      "port 0",
      "bind 127.0.0.1",
      `tls-port ${port}`,
      `tls-cert-file ${file("server.crt", pki.server.cert)}`,
      `tls-key-file ${file("server.key", pki.server.key)}`,
      `tls-ca-cert-file ${file("ca.crt", pki.ca)}`,
      "tls-auth-clients no",
      'save ""',
      "appendonly no",
      `dir ${dir}`,
      "user default off",
      "user svc on >s3cret ~* &* +@all",
      "",
    ].join("\n"),
  );
  server = spawn("redis-server", [conf], { stdio: ["ignore", "pipe", "pipe"] });
  server.stdout!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  server.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const end = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = netConnect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (up) break;
    if (Date.now() > end || server.exitCode !== null)
      throw new Error(`redis-server did not listen on TLS port ${port} within 10 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(() => {
  server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  pki?.dispose();
});

/** One connection attempt with the package's security options, no retries: resolves PONG or rejects. */
async function ping(options: RedisConnectionOptions): Promise<string> {
  const r = new Redis(`redis://127.0.0.1:${port}`, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 3000,
    ...redisSecurityOptions(options),
  });
  // ioredis reports the server's refusal as an "error" event, then closes the connection.
  const errors: string[] = [];
  r.on("error", (e: Error) => errors.push(e.message));
  try {
    await r.connect();
    return await r.ping();
  } catch (err) {
    throw new Error(`${(err as Error).message}; ${errors.join("; ")}`);
  } finally {
    r.disconnect();
  }
}

describe("security: Redis ACL user and TLS against a private server that requires them", () => {
  test("an ACL user over TLS: the broker carries a message", async () => {
    const broker = createRedisPubSubBroker({
      url: `redis://127.0.0.1:${port}`,
      username: "svc",
      password: "s3cret",
      tls: { ca: pki.ca },
    });
    await broker.connect();
    try {
      let got: (body: string) => void = () => {};
      const received = new Promise<string>((resolve) => {
        got = resolve;
      });
      await broker.subscribe("sec.topic", async (e) => got(Buffer.from(e.message.body).toString()));
      await broker.publish("sec.topic", { headers: {}, body: Buffer.from(JSON.stringify({ n: 1 })) });
      const body = await Promise.race([
        received,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no message within 5 s")), 5000)),
      ]);
      assert.deepEqual(JSON.parse(body), { n: 1 });
    } finally {
      await broker.disconnect();
    }
  });

  test("no user, a wrong password: refused", async () => {
    // The default user is off: the server refuses (NOAUTH, or it closes the connection).
    await assert.rejects(ping({ tls: { ca: pki.ca } }));
    await assert.rejects(ping({ username: "svc", password: "wrong", tls: { ca: pki.ca } }), /WRONGPASS/);
    assert.equal(await ping({ username: "svc", password: "s3cret", tls: { ca: pki.ca } }), "PONG");
  });

  test("plaintext to the TLS port, and a server certificate from another CA: refused", async () => {
    await assert.rejects(ping({ username: "svc", password: "s3cret" }));
    await assert.rejects(ping({ username: "svc", password: "s3cret", tls: { ca: pki.otherCa } }));
  });
});
