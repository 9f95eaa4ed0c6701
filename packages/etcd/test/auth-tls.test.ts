/**
 * etcd authentication and TLS with server identity (issue 19), against a private etcd this test
 * starts on free loopback ports serving clients over TLS only, with `auth enable` on: a user
 * over TLS registers and reads; no credentials, a wrong password and a server certificate from
 * another CA are each refused.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Etcd3 } from "etcd3";
import type { Service } from "tsmicro/plugin";
import { freePort } from "tsmicro/testing";
import { makeTestPki, type TestPki } from "../../tsmicro/test/support/certs.js";
import { createEtcdRegistry, type EtcdRegistryOptions, etcdSecurityOptions } from "../src/index.js";

let pki: TestPki;
let etcd: ChildProcess;
let endpoint: string;
let dir: string;
let output = "";

const svc: Service = {
  name: "pay",
  version: "",
  metadata: {},
  endpoints: [],
  nodes: [{ id: "a", address: "127.0.0.1:7000", metadata: {} }],
};

before(async () => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), "tsmicro-etcd-sec-"));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  endpoint = `127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  etcd = spawn(
    "etcd",
    [
      "--name=tsmicro-sec",
      `--data-dir=${join(dir, "data")}`,
      `--listen-client-urls=https://${endpoint}`,
      `--advertise-client-urls=https://${endpoint}`,
      `--cert-file=${file("server.crt", pki.server.cert)}`,
      `--key-file=${file("server.key", pki.server.key)}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=tsmicro-sec=${peer}`,
      "--log-level=error",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  etcd.stderr!.on("data", (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  // Ready when a TLS client gets an answer; then a root user, and auth on.
  const root = new Etcd3({ hosts: `https://${endpoint}`, ...etcdSecurityOptions({ tls: { ca: pki.ca } }) });
  try {
    const end = Date.now() + 20_000;
    for (;;) {
      try {
        await root.get("ping").string();
        break;
      } catch (err) {
        if (Date.now() > end || etcd.exitCode !== null)
          throw new Error(
            `etcd did not serve TLS on ${endpoint} within 20 s: ${(err as Error).message} ${output}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await root.role("root").create();
    await root.user("root").create("r00t");
    await root.user("root").addRole("root");
    await root.auth.authEnable();
  } finally {
    root.close();
  }
});

after(() => {
  etcd?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  pki?.dispose();
});

async function registerAndRead(options: EtcdRegistryOptions): Promise<string[]> {
  const r = createEtcdRegistry({ endpoints: endpoint, prefix: "/sec/", timeoutMs: 2000, ...options });
  try {
    await r.register(svc, { ttlMs: 30_000 });
    return (await r.getService("pay")).flatMap((s) => s.nodes.map((n) => n.address));
  } finally {
    await r.close();
  }
}

describe("security: etcd auth and TLS against a private server that requires them", () => {
  test("a user over TLS registers and reads", async () => {
    assert.deepEqual(
      await registerAndRead({ auth: { username: "root", password: "r00t" }, tls: { ca: pki.ca } }),
      ["127.0.0.1:7000"],
    );
  });

  test("no credentials, a wrong password: refused", async () => {
    await assert.rejects(registerAndRead({ tls: { ca: pki.ca } }));
    await assert.rejects(
      registerAndRead({ auth: { username: "root", password: "wrong" }, tls: { ca: pki.ca } }),
    );
  });

  test("a server certificate from another CA is refused (server identity)", async () => {
    await assert.rejects(
      registerAndRead({ auth: { username: "root", password: "r00t" }, tls: { ca: pki.otherCa } }),
    );
  });
});
