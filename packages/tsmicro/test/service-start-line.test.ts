/** A service started with run() says where it listens, its registry and how to stop it; `log` routes or silences that. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const CORE = new URL("../dist/index.js", import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), "tsmicro-start-line-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a service program until it has answered `ready`, then SIGTERMs it; its stderr and stdout. */
async function runService(options: string): Promise<{ stderr: string; stdout: string }> {
  const file = join(dir, `svc-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    file,
    `import { newService } from "${CORE}";
const service = newService({ name: "liner", ${options} });
setTimeout(() => process.stdout.write("ready\\n"), 0);
await service.run();
`,
  );
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, MICRO_REGISTRY: "local", MICRO_REGISTRY_ADDRESS: join(dir, "reg") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await new Promise<void>((resolve) => {
    child.stdout.on("data", (d) => {
      stdout += d;
      // run() starts, then prints; wait for the line (or, silenced, a moment after ready).
      if (/ready/.test(stdout)) setTimeout(resolve, /log:/.test(options) ? 500 : 0);
    });
  });
  const deadline = Date.now() + 10_000;
  while (!/log:/.test(options) && !/Ctrl-C/.test(stderr)) {
    assert.ok(Date.now() < deadline, `timed out waiting for the start line on stderr: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
  clearTimeout(timer);
  return { stderr, stdout };
}

test("run() prints one line: service, address, registry, how to stop", async () => {
  const { stderr } = await runService("");
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(
    lines[0]!,
    /^tsmicro: liner listening on 127\.0\.0\.1:\d+, registered in local \(.*reg\); Ctrl-C stops it$/,
  );
});

test("log: () => {} silences it; a log function receives the lifecycle messages instead", async () => {
  const silent = await runService("log: () => {}");
  assert.equal(silent.stderr, "");
  const routed = await runService('log: (m) => process.stdout.write("LOG " + m + "\\n")');
  assert.equal(routed.stderr, "");
  assert.match(routed.stdout, /^LOG tsmicro: liner \(liner-[0-9a-f-]+\) listening on 127\.0\.0\.1:\d+$/m);
});
