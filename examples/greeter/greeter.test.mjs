// The README's example, run as a user would: the service and the client as two processes
// finding each other through the local registry (a temporary lease directory).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "tsmicro-greeter-"));
const env = { ...process.env, MICRO_REGISTRY: "local", MICRO_REGISTRY_DIR: dir };
const here = new URL(".", import.meta.url).pathname;
after(() => rmSync(dir, { recursive: true, force: true }));

it("the README's service and client talk through the local registry, and SIGTERM deregisters", {
  timeout: 30_000,
}, async () => {
  const service = spawn(process.execPath, [join(here, "service.mjs")], { env, stdio: "inherit" });
  try {
    // Until the service has registered, the client answers 404: retry, bounded.
    let out;
    const end = Date.now() + 15_000;
    for (;;) {
      try {
        out = await run(process.execPath, [join(here, "client.mjs"), "Ada"], { env, timeout: 10_000 });
        break;
      } catch (err) {
        assert.ok(Date.now() < end, `the client never reached the service: ${err.stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.equal(out.stdout.trim(), "Hello Ada");
    const empty = await run(process.execPath, [join(here, "client.mjs"), ""], { env }).catch((e) => e);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /400 Bad Request: name is required/);
  } finally {
    service.kill("SIGTERM");
  }
  const code = await new Promise((r) => service.once("exit", r));
  assert.equal(code, 0, "run() exits cleanly on SIGTERM");
  const after = await run(process.execPath, [join(here, "client.mjs"), "Ada"], { env }).catch((e) => e);
  assert.match(after.stderr, /404 Not Found: service "greeter" not found in registry local/);
});
