/**
 * NATS `.creds` files (operator/JWT mode, issue 19), against a private nats-server this test
 * starts in operator mode with a MEMORY resolver. The operator, accounts and users and their
 * JWTs are made per run with @nats-io/jwt; the user's `.creds` file is written with its
 * fmtCreds. `auth: { credsFile }` connects and carries the registry (JetStream KV); a user of an
 * account the server does not know, a file that is not a creds file, and a missing file each
 * fail with a MicroError naming the file.
 *
 * Before and after (2026-12-01, this file against connection.ts of aa6d130's parent): the good
 * file and the refusal without credentials passed; the unknown account failed with nats.js's
 * bare "AuthorizationError: Authorization Violation", the garbage file with "Error: unable to
 * parse credentials" (neither naming the file). After: 4 of 4 pass.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
} from "@nats-io/jwt";
import { MicroError } from "tsmicro";
import { freePort } from "tsmicro/testing";
import { createNatsConnection, createNatsRegistry } from "../src/index.js";

let server: ChildProcess;
let servers: string;
let dir: string;
let stderr = "";
let credsFile: string;
let strangerCreds: string;
const id = randomUUID().slice(0, 8);

const UNLIMITED = {
  conn: -1,
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  leaf: -1,
  wildcards: true,
};

/** A user of a new account: its `.creds` text, and the account's public key and JWT. */
async function newUser(operator: ReturnType<typeof createOperator>, withJetStream: boolean) {
  const account = createAccount();
  const accountJwt = await encodeAccount(
    `tsmicro-${id}`,
    account,
    // Given limits replace every default (0 connections included): spell out "unlimited".
    withJetStream
      ? { limits: { ...UNLIMITED, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } }
      : {},
    { signer: operator },
  );
  const user = createUser();
  const userJwt = await encodeUser(`svc-${id}`, user, account);
  return { creds: fmtCreds(userJwt, user), account: account.getPublicKey(), accountJwt };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsmicro-nats-creds-"));
  const file = (name: string, text: string | Uint8Array) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  const operator = createOperator();
  const operatorJwt = await encodeOperator(`tsmicro-op-${id}`, operator);
  const system = createAccount();
  const systemJwt = await encodeAccount("SYS", system, {}, { signer: operator });
  const svc = await newUser(operator, true);
  credsFile = file("svc.creds", svc.creds);
  // Signed by the same operator, but its account is not in the server's resolver.
  const stranger = await newUser(operator, false);
  strangerCreds = file("stranger.creds", stranger.creds);

  const port = await freePort();
  servers = `127.0.0.1:${port}`;
  const conf = file(
    "nats.conf",
    `listen: "127.0.0.1:${port}"
jetstream { store_dir: "${join(dir, "js")}" }
operator: ${operatorJwt}
system_account: ${system.getPublicKey()}
resolver: MEMORY
resolver_preload: {
  ${system.getPublicKey()}: ${systemJwt}
  ${svc.account}: ${svc.accountJwt}
}
`,
  );
  server = spawn("nats-server", ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  server.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  process.once("exit", () => server.kill("SIGKILL"));
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
      throw new Error(`operator-mode nats-server did not listen on ${servers} within 10 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(() => {
  server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const open = (file: string) =>
  createNatsConnection({ servers, auth: { credsFile: file }, connectOptions: { timeout: 3000 } });

describe("security: NATS .creds against a private operator-mode server", () => {
  test("the user's .creds file connects, and the registry works on it", async () => {
    const nc = await open(credsFile);
    await nc.flush();
    await nc.close();
    const registry = createNatsRegistry({ servers, auth: { credsFile }, bucket: `tsmicro-creds-${id}` });
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

  test("no credentials: the server refuses (it is in operator mode)", async () => {
    await assert.rejects(
      createNatsConnection({ servers, connectOptions: { timeout: 3000 } }),
      /Authorization|authorization/,
    );
  });

  test("a user whose account the server does not know: a 401 naming the file", async () => {
    const err = await open(strangerCreds).then(
      () => assert.fail("the stranger's creds connected"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MicroError, String(err));
    assert.equal(err.code, 401);
    assert.ok(err.detail.includes(strangerCreds), err.detail);
    assert.match(err.detail, /Authorization/i);
  });

  test("a file that is not a creds file, and a missing file: a MicroError naming the file", async () => {
    const garbage = join(dir, "garbage.creds");
    writeFileSync(garbage, "not a creds file\n", { mode: 0o600 });
    const bad = await open(garbage).then(
      () => assert.fail("a garbage creds file connected"),
      (e: unknown) => e,
    );
    assert.ok(bad instanceof MicroError, String(bad));
    assert.equal(bad.code, 500);
    assert.ok(bad.detail.includes(garbage), bad.detail);
    assert.match(bad.detail, /unable to parse credentials/);

    const missing = join(dir, "missing.creds");
    const err = await open(missing).then(
      () => assert.fail("a missing creds file connected"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MicroError, String(err));
    assert.equal(err.code, 500);
    assert.match(err.detail, /cannot read the credentials file .*missing\.creds: ENOENT/);
    // Through the registry (a lazily opened connection): the same reason reaches the caller.
    const registry = createNatsRegistry({
      servers,
      auth: { credsFile: missing },
      bucket: `tsmicro-creds-${id}`,
    });
    try {
      await assert.rejects(registry.getService("pay"), (e: unknown) => {
        assert.ok(e instanceof MicroError, String(e));
        assert.match(e.detail, /cannot read the credentials file .*missing\.creds: ENOENT/);
        return true;
      });
    } finally {
      await registry.close();
    }
  });
});
