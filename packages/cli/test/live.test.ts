/** The commands that stay: watch, subscribe; shell completion; and a closed stdout ending any command quietly. */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { BIN, type Demo, startDemo, tsmicro } from "./helpers.js";

let demo: Demo;
before(async () => {
  demo = await startDemo(`live-${process.pid}`);
});
after(() => demo.stop());

/** Runs `script` with bash; resolves with its exit code and output. */
function sh(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["-c", script], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
  });
}

/** Collects `child`'s stdout lines; `next(pred)` waits (bounded) for a line matching it. */
function lines(child: ChildProcess) {
  const seen: string[] = [];
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on("line", (l) => {
    seen.push(l);
    for (const w of [...waiters]) {
      if (w.pred(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  return {
    seen,
    next(pred: (l: string) => boolean, ms: number, what: string): Promise<string> {
      const found = seen.find(pred);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out after ${ms} ms waiting for ${what}; got: ${seen.join(" | ")}`)),
          ms,
        );
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

/** Waits (bounded) until `child` has written a line matching `pattern` on stderr. */
function stderrLine(child: ChildProcess, pattern: RegExp, ms: number): Promise<void> {
  let text = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting for ${pattern} on stderr: ${text}`)),
      ms,
    );
    child.stderr!.on("data", (d) => {
      text += d;
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

function exitOf(child: ChildProcess, ms: number, what: string): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out after ${ms} ms waiting for ${what} to exit`));
    }, ms);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe("a closed stdout", () => {
  test("negative control: the harness sees node's unhandled EPIPE when nothing handles it", async () => {
    const r = await sh(
      `set -o pipefail; sleep 0.2 | "${process.execPath}" -e 'setTimeout(() => { for (let i = 0; i < 100; i++) process.stdout.write("x\\n"); }, 300)' | true`,
      demo.env,
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /EPIPE/);
  });
  test("`describe | true` (reader already gone) and `describe | head -1` end quietly with exit 0, every run", async () => {
    for (let i = 0; i < 5; i++) {
      for (const reader of ["true", "head -1"]) {
        const r = await sh(
          `set -o pipefail; "${process.execPath}" "${BIN}" describe ${demo.name} | ${reader}`,
          demo.env,
        );
        assert.equal(r.stderr, "", `run ${i} | ${reader}: nothing on stderr`);
        assert.equal(r.code, 0, `run ${i} | ${reader}: exit 0`);
        if (reader === "head -1") assert.match(r.stdout, new RegExp(`^${demo.name} 1\\.2\\.3`));
      }
    }
  });
});

describe("watch", () => {
  test("prints create and delete events as services come and go; SIGINT exits 0", async () => {
    const child = spawn(process.execPath, [BIN, "watch", "--json"], {
      env: demo.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = lines(child);
    try {
      const name = `watched-${process.pid}`;
      // Start the second service only once the watch runs (a line says so in text mode; in JSON
      // mode the first events come from services already there or the new one, either is fine).
      const other = await startDemo(name, { MICRO_REGISTRY_ADDRESS: demo.dir });
      const created = JSON.parse(
        await out.next(
          (l) => l.includes(`"name":"${name}"`) && l.includes('"create"'),
          10_000,
          `a create event for ${name}`,
        ),
      );
      assert.equal(created.service.nodes[0].address, other.address);
      await other.stop();
      const deleted = JSON.parse(
        await out.next(
          (l) => l.includes(`"name":"${name}"`) && l.includes('"delete"'),
          10_000,
          `a delete event for ${name}`,
        ),
      );
      assert.equal(deleted.type, "delete");
    } finally {
      child.kill("SIGINT");
    }
    assert.equal(await exitOf(child, 10_000, "tsmicro watch after SIGINT"), 0);
  });
});

describe("subscribe", () => {
  test("prints each message published on the topic as a JSON line", async () => {
    const topic = `live.sub.${process.pid}`;
    const child = spawn(process.execPath, [BIN, "subscribe", topic], {
      env: demo.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = lines(child);
    try {
      await stderrLine(child, /subscribed to/, 10_000);
      const deadline = Date.now() + 10_000;
      // The http broker finds the subscriber through the registry: publish until it is seen.
      let got: string | undefined;
      for (let n = 1; got === undefined; n++) {
        assert.ok(Date.now() < deadline, `timed out publishing to ${topic}: nothing printed`);
        const r = await tsmicro(["publish", topic, JSON.stringify({ n }), "-m", "x-from=test"], demo.env);
        assert.equal(r.code, 0, r.stderr);
        got = await out.next(() => true, 500, "a message").catch(() => undefined);
      }
      const msg = JSON.parse(got);
      assert.equal(msg.topic, topic);
      assert.equal(typeof msg.payload.n, "number");
      assert.equal(msg.headers["x-from"], "test");
    } finally {
      child.kill("SIGINT");
    }
    assert.equal(await exitOf(child, 10_000, "tsmicro subscribe after SIGINT"), 0);
  });
});

describe("completion", () => {
  test("bash: commands, flags and the registered service names complete", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmicro-completion-"));
    try {
      // `tsmicro` on PATH, as after `npm install -g` (the script asks it for service names).
      writeFileSync(join(dir, "tsmicro"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, {
        mode: 0o755,
      });
      const env = { ...demo.env, PATH: `${dir}:${process.env.PATH}` };
      const complete = (words: string) =>
        sh(
          `eval "$(tsmicro completion bash)"; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _tsmicro; echo "\${COMPREPLY[*]}"`,
          env,
        );
      const cmd = await complete("tsmicro de");
      assert.equal(cmd.stdout.trim(), "describe", cmd.stderr);
      const flag = await complete("tsmicro call --ti");
      assert.equal(flag.stdout.trim(), "--timeout", flag.stderr);
      const svc = await complete(`tsmicro describe ${demo.name.slice(0, 6)}`);
      assert.ok(
        svc.stdout.trim().split(" ").includes(demo.name),
        `service names: ${svc.stdout} ${svc.stderr}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("zsh: the script defines the completion function; an unknown shell is a usage error", async () => {
    const z = await tsmicro(["completion", "zsh"], demo.env);
    assert.equal(z.code, 0, z.stderr);
    assert.match(z.stdout, /^#compdef tsmicro$/m);
    assert.match(z.stdout, /compadd -- services describe call/);
    const bad = await tsmicro(["completion", "fish"], demo.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /choose bash or zsh/);
  });
});
