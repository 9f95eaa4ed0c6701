/**
 * `tsmicro run` against real child processes: a handler edit reloads only its service, while
 * calls to the other service keep succeeding; a crashing service is restarted with backoff;
 * SIGINT stops everything. The numbers (reload time, failed calls) are printed as diagnostics.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { background, newClient, newRequest, withTimeout } from "tsmicro";
import { createLocalRegistry } from "tsmicro/plugin";
import { BIN } from "./helpers.js";

const CORE = new URL("../../tsmicro/dist/index.js", import.meta.url).href;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function service(name: string, answer: string, extra = ""): string {
  return `import { newService } from "${CORE}";
class Answer { async get() { return { answer: "${answer}", pid: process.pid }; } }
const service = newService({ name: "${name}" });
service.handle(new Answer());
${extra}
await service.run();
`;
}

interface Running {
  child: ChildProcess;
  lines: string[];
  waitFor(pattern: RegExp, ms: number, what: string): Promise<string>;
  stop(): Promise<number | null>;
}

function startRun(dir: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [BIN, "run", dir, "--address", "127.0.0.1:0"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (l: string) => {
    lines.push(l);
    for (const w of [...waiters]) w();
  };
  createInterface({ input: child.stdout! }).on("line", onLine);
  createInterface({ input: child.stderr! }).on("line", onLine);
  return {
    child,
    lines,
    waitFor(pattern, ms, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find((l) => pattern.test(l));
          if (hit === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; output:\n${lines.join("\n")}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

function project(services: Record<string, string>): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), "tsmicro-run-"));
  const reg = mkdtempSync(join(tmpdir(), "tsmicro-run-reg-"));
  dirs.push(dir, reg);
  const manifest: Record<string, { entry: string; watch: string[] }> = {};
  for (const [name, source] of Object.entries(services)) {
    writeFileSync(join(dir, `${name}.mjs`), source);
    manifest[name] = { entry: `${name}.mjs`, watch: [`${name}.mjs`] };
  }
  writeFileSync(join(dir, "tsmicro.json"), JSON.stringify({ services: manifest }));
  return {
    dir,
    env: { ...process.env, MICRO_REGISTRY: "local", MICRO_REGISTRY_ADDRESS: reg, MICRO_BROKER: "memory" },
  };
}

test("editing a handler reloads only its service within 2 s; 0 failed calls to the other service", async (t) => {
  const { dir, env } = project({ alpha: service("alpha", "v1"), beta: service("beta", "steady") });
  const run = startRun(dir, env);
  const registry = createLocalRegistry({ dir: env.MICRO_REGISTRY_ADDRESS!, pollMs: 50 });
  const client = newClient({ registry, retries: 0 });
  const ask = (name: string) =>
    client.call<{ answer: string; pid: number }>(
      withTimeout(background(), 2000),
      newRequest(name, "Answer.get", {}),
    );
  try {
    await run.waitFor(/gateway and dashboard on http/, 15_000, "the gateway to listen");
    // Both services answer before the edit.
    const deadline = Date.now() + 15_000;
    for (const name of ["alpha", "beta"]) {
      for (;;) {
        assert.ok(
          Date.now() < deadline,
          `timed out waiting for ${name} to answer; output:\n${run.lines.join("\n")}`,
        );
        if ((await ask(name).catch(() => undefined))?.answer !== undefined) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const betaPid = (await ask("beta")).pid;
    // Calls to beta all through the reload, one after another.
    let betaOk = 0;
    const betaFailures: string[] = [];
    let stopLoad = false;
    const load = (async () => {
      while (!stopLoad) {
        try {
          await ask("beta");
          betaOk++;
        } catch (err) {
          betaFailures.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const edited = Date.now();
    writeFileSync(join(dir, "alpha.mjs"), service("alpha", "v2"));
    let reloadMs = -1;
    while (Date.now() - edited < 5000) {
      const r = await ask("alpha").catch(() => undefined);
      if (r?.answer === "v2") {
        reloadMs = Date.now() - edited;
        break;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    stopLoad = true;
    await load;
    t.diagnostic(
      `reload time ${reloadMs} ms; calls to beta during the reload: ${betaOk} ok, ${betaFailures.length} failed`,
    );
    assert.ok(reloadMs >= 0, `alpha never answered v2; output:\n${run.lines.join("\n")}`);
    assert.ok(reloadMs < 2000, `reload took ${reloadMs} ms`);
    assert.deepEqual(betaFailures, [], "no call to beta failed");
    assert.ok(betaOk > 10, `beta was called throughout (${betaOk} calls)`);
    assert.equal((await ask("beta")).pid, betaPid, "beta was not restarted");
    assert.ok(
      run.lines.some((l) => /^alpha +\| restarting \(alpha\.mjs changed\)/.test(l)),
      run.lines.join("\n"),
    );
    assert.ok(!run.lines.some((l) => /^beta +\| restarting/.test(l)), "beta did not restart");
    assert.ok(
      run.lines.some((l) => /^alpha +\| started alpha\.mjs \(pid \d+\)/.test(l)),
      "output is prefixed per service",
    );
  } finally {
    await client.close();
    await registry.close();
    assert.equal(await run.stop(), 0, "SIGINT stops everything with exit 0");
  }
  assert.ok(run.lines.some((l) => /stopping every service/.test(l)));
});

test("a crashing service is restarted with growing backoff, and each restart is shown", async () => {
  const crash = service("crashy", "x", "setTimeout(() => process.exit(3), 200);");
  const { dir, env } = project({ crashy: crash });
  const run = startRun(dir, env);
  try {
    await run.waitFor(/crashy +\| exited with code 3; restart 1 in 250ms/, 15_000, "the first restart");
    await run.waitFor(
      /crashy +\| exited with code 3; restart 2 in 500ms/,
      15_000,
      "the second restart, after a longer wait",
    );
    await run.waitFor(/crashy +\| exited with code 3; restart 3 in 1000ms/, 15_000, "the third restart");
    const starts = run.lines.filter((l) => /crashy +\| started crashy\.mjs/.test(l)).length;
    assert.ok(starts >= 3, `started ${starts} times`);
  } finally {
    assert.equal(await run.stop(), 0);
  }
});

test("run in a directory without services runs the gateway only, and says so", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsmicro-run-empty-"));
  dirs.push(dir);
  const run = startRun(dir, { ...process.env, MICRO_REGISTRY: "memory" });
  try {
    await run.waitFor(/no services in .*running the gateway and dashboard only/, 15_000, "the notice");
    await run.waitFor(/gateway and dashboard on http:\/\/127\.0\.0\.1:\d+\//, 15_000, "the gateway");
  } finally {
    assert.equal(await run.stop(), 0);
  }
});
