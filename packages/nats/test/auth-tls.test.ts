/**
 * NATS credentials and TLS with server identity (issue 19), against a private nats-server this
 * test starts on a free loopback port, configured to require TLS and a user: a user/password
 * and an nkey over TLS are served; no credentials, a wrong password, plaintext, and a server
 * certificate from an untrusted CA are each refused.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { nkeys } from "@nats-io/transport-node";
import { freePort } from "tsmicro/testing";
import { makeTestPki, type TestPki } from "../../tsmicro/test/support/certs.js";
import {
  createNatsConnection,
  createNatsRegistry,
  type NatsAuth,
  type NatsTlsOptions,
} from "../src/index.js";

let pki: TestPki;
let server: ChildProcess;
let servers: string;
let dir: string;
let stderr = "";
const user = nkeys.createUser();
const nkeySeed = new TextDecoder().decode(user.getSeed());

before(async () => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), "tsmicro-nats-sec-"));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const port = await freePort();
  servers = `127.0.0.1:${port}`;
  const conf = file(
    "nats.conf",
    `listen: "127.0.0.1:${port}"
jetstream { store_dir: "${join(dir, "js")}" }
tls {
  cert_file: "${file("server.crt", pki.server.cert)}"
  key_file: "${file("server.key", pki.server.key)}"
  timeout: 2
}
authorization {
  users: [
    { user: "svc", password: "s3cret" }
    { nkey: "${user.getPublicKey()}" }
  ]
}
`,
  );
  server = spawn("nats-server", ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  server.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  // Ready when the port accepts connections, bounded.
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
      throw new Error(`nats-server did not listen on ${servers} within 10 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(() => {
  server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  pki?.dispose();
});

const open = (auth: NatsAuth | undefined, tls: NatsTlsOptions | undefined) =>
  createNatsConnection({
    servers,
    ...(auth ? { auth } : {}),
    ...(tls ? { tls } : {}),
    connectOptions: { timeout: 3000 },
  });

describe("security: NATS credentials and TLS against a private server that requires them", () => {
  test("user/password over TLS: the registry works", async () => {
    const registry = createNatsRegistry({
      servers,
      auth: { user: "svc", pass: "s3cret" },
      tls: { ca: pki.ca },
      bucket: "tsmicro-sec",
    });
    try {
      await registry.register(
        {
          name: "pay",
          version: "",
          metadata: {},
          endpoints: [],
          nodes: [{ id: "a", address: "127.0.0.1:7000", metadata: {} }],
        },
        { ttlMs: 30_000 },
      );
      assert.deepEqual(
        (await registry.getService("pay")).flatMap((s) => s.nodes.map((n) => n.address)),
        ["127.0.0.1:7000"],
      );
    } finally {
      await registry.close();
    }
  });

  test("an nkey over TLS connects", async () => {
    const nc = await open({ nkeySeed }, { ca: pki.ca });
    await nc.flush();
    await nc.close();
  });

  test("no credentials, a wrong password: refused", async () => {
    await assert.rejects(open(undefined, { ca: pki.ca }), /Authorization|authorization/);
    await assert.rejects(open({ user: "svc", pass: "wrong" }, { ca: pki.ca }), /Authorization|authorization/);
  });

  test("a server certificate from another CA is refused (server identity)", async () => {
    await assert.rejects(open({ user: "svc", pass: "s3cret" }, { ca: pki.otherCa }));
  });

  test("an auth object of no known kind is a TypeError", () => {
    assert.throws(() => open({ password: "x" } as never, undefined), /auth must be \{ user, pass \}/);
  });
});
