/**
 * The local registry's directory is a trust root (issues 11 and 19): per user by default,
 * created 0700, leases written 0600, and a directory that is a symbolic link, owned by
 * someone else or writable by others refused with an error that says so. The two-user test
 * creates a real second Unix user and shows it cannot read, plant or remove leases, nor
 * steer calls through a directory it created first.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isMicroError } from "../src/errors.js";
import { createLocalRegistry, defaultLocalRegistryDir } from "../src/registry/local.js";
import type { Service } from "../src/registry/registry.js";

const root = mkdtempSync(join(tmpdir(), "tsmicro-localdir-"));
chmodSync(root, 0o755); // other users may traverse to the directories under test
after(() => rmSync(root, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;
const svc: Service = {
  name: "trust",
  version: "1",
  metadata: {},
  endpoints: [],
  nodes: [{ id: "t1", address: "127.0.0.1:1", metadata: {} }],
};

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function refusal(p: Promise<unknown>, why: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isMicroError(e), `a MicroError, got ${String(e)}`);
    assert.match(e.detail, /^local registry directory /);
    assert.match(e.detail, why);
    return true;
  });
}

describe("local registry directory", () => {
  it("defaults to a per-user directory: $XDG_RUNTIME_DIR, else <tmpdir>/tsmicro-<uid>", () => {
    const uid = process.getuid?.() ?? "user";
    const d = withEnv({ MICRO_REGISTRY_DIR: undefined, XDG_RUNTIME_DIR: undefined, TMPDIR: root }, () =>
      defaultLocalRegistryDir(),
    );
    assert.equal(d, join(root, `tsmicro-${uid}`));
    const x = withEnv({ MICRO_REGISTRY_DIR: undefined, XDG_RUNTIME_DIR: "/run/user/4242" }, () =>
      defaultLocalRegistryDir(),
    );
    assert.equal(x, "/run/user/4242/tsmicro-registry");
  });

  it("creates the directory 0700 and writes leases 0600", async () => {
    const dir = join(root, "fresh", "leases");
    const r = createLocalRegistry({ dir });
    await r.register(svc, { ttlMs: 60_000 });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const leases = readdirSync(dir);
    assert.equal(leases.length, 1);
    assert.equal(statSync(join(dir, leases[0]!)).mode & 0o777, 0o600);
    await r.close();
  });

  it("refuses a directory writable by others, saying so", async () => {
    const dir = join(root, "open");
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const r = createLocalRegistry({ dir });
    await refusal(r.register(svc, { ttlMs: 60_000 }), /is writable by others \(mode 0777\)/);
    await refusal(r.getService("trust"), /writable by others/);
    assert.deepEqual(readdirSync(dir), [], "nothing was written");
    await r.close();
  });

  it("refuses a symbolic link to a directory", async () => {
    const real = join(root, "real");
    mkdirSync(real, { mode: 0o700 });
    const link = join(root, "link");
    symlinkSync(real, link);
    const r = createLocalRegistry({ dir: link });
    await refusal(r.register(svc, { ttlMs: 60_000 }), /is a symbolic link/);
    assert.deepEqual(readdirSync(real), []);
    await r.close();
  });

  it("refuses a directory owned by another user, saying so", {
    skip: !isRoot && "chown needs root",
  }, async () => {
    const dir = join(root, "foreign");
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    const r = createLocalRegistry({ dir });
    await refusal(r.getService("trust"), /is owned by uid 65534, not by this process's uid 0/);
    await r.close();
  });
});

describe("two users on one host", { skip: !isRoot && "useradd needs root (CI runs as root)" }, () => {
  it("the other user cannot read, plant or remove leases, nor steer calls", async () => {
    const user = `tsmicro-lc${process.pid % 100000}`;
    execFileSync("useradd", ["--no-create-home", "--shell", "/usr/sbin/nologin", user]);
    try {
      // As `user`: try one fs operation; prints "ok" or the error code.
      const as = (code: string): string => {
        const r = spawnSync("runuser", ["-u", user, "--", process.execPath, "-e", code], {
          encoding: "utf8",
        });
        assert.equal(r.status, 0, `runuser ${user}: ${r.stderr}`);
        return r.stdout.trim();
      };
      const probe = (op: string) => `try { ${op}; console.log("ok") } catch (e) { console.log(e.code) }`;

      // This user's registry, in its default place (TMPDIR points at the test's root).
      const mine = withEnv({ MICRO_REGISTRY_DIR: undefined, XDG_RUNTIME_DIR: undefined, TMPDIR: root }, () =>
        defaultLocalRegistryDir(),
      );
      const r = createLocalRegistry({ dir: mine });
      await r.register(svc, { ttlMs: 60_000 });
      const lease = join(mine, readdirSync(mine)[0]!);
      const fs = `const fs = require("node:fs");`;
      assert.equal(as(`${fs} ${probe(`fs.readdirSync(${JSON.stringify(mine)})`)}`), "EACCES", "list leases");
      assert.equal(
        as(`${fs} ${probe(`fs.readFileSync(${JSON.stringify(lease)})`)}`),
        "EACCES",
        "read a lease",
      );
      const planted = join(mine, "trust@1@evil.lease.json");
      const row = JSON.stringify({
        name: "trust",
        version: "1",
        metadata: {},
        endpoints: [],
        node: { id: "evil", address: "127.0.0.1:6666", metadata: {} },
        expires: 0,
      });
      assert.equal(
        as(`${fs} ${probe(`fs.writeFileSync(${JSON.stringify(planted)}, ${JSON.stringify(row)})`)}`),
        "EACCES",
        "plant a lease",
      );
      assert.equal(
        as(`${fs} ${probe(`fs.unlinkSync(${JSON.stringify(lease)})`)}`),
        "EACCES",
        "remove a lease",
      );
      assert.deepEqual(
        (await r.getService("trust"))[0]?.nodes.map((n) => n.id),
        ["t1"],
        "only our own node is listed",
      );
      await r.close();

      // The other user creates our default directory first, with a lease of its choosing.
      const ahead = join(root, "ahead");
      mkdirSync(ahead, { mode: 0o755 });
      chownSync(ahead, Number(as(`console.log(process.getuid())`)), 0);
      const squatted = join(ahead, `tsmicro-${process.getuid?.()}`);
      assert.equal(
        as(
          `${fs} ${probe(`fs.mkdirSync(${JSON.stringify(squatted)}, { mode: 0o700 }); fs.writeFileSync(${JSON.stringify(join(squatted, "trust@1@evil.lease.json"))}, ${JSON.stringify(row)})`)}`,
        ),
        "ok",
        "the other user can create the directory first",
      );
      const victim = withEnv(
        { MICRO_REGISTRY_DIR: undefined, XDG_RUNTIME_DIR: undefined, TMPDIR: ahead },
        () => createLocalRegistry(),
      );
      await refusal(victim.getService("trust"), /is owned by uid \d+, not by this process's uid 0/);
      await refusal(victim.register(svc, { ttlMs: 60_000 }), /another user could plant leases/);
      await victim.close();
    } finally {
      spawnSync("userdel", [user]);
    }
    assert.notEqual(spawnSync("id", [user]).status, 0, `user ${user} was removed`);
  });
});
