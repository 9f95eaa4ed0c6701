/**
 * A finished script exits by itself (issue 11): the greeter client with the NATS registry,
 * and a publisher on each external broker, each run as a child process that must exit with
 * status 0 within a bound. `defaultClient.close()` lets go of the shared default registry and
 * broker it used, and the last holder closes them (client/client.ts, registry/default.ts).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { newService } from "tsmicro";
import { registryFromEnv } from "tsmicro/plugin";

const root = new URL("../..", import.meta.url).pathname;
const EXIT_BOUND_MS = 15_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node file args` with `env`; fails naming the command if it has not exited within the bound. */
function run(file: string, args: string[], env: Record<string, string>): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [file, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${Object.entries(env)
            .map(([k, v]) => `${k}=${v}`)
            .join(
              " ",
            )} node ${file} ${args.join(" ")} did not exit within ${EXIT_BOUND_MS} ms (stdout: ${stdout.trim()}; stderr: ${stderr.trim()})`,
        ),
      );
    }, EXIT_BOUND_MS);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe("a finished script exits by itself", () => {
  const nats = { MICRO_REGISTRY: "nats", MICRO_REGISTRY_ADDRESS: "127.0.0.1:4222" };
  const registry = registryFromEnv({ kind: "nats", address: nats.MICRO_REGISTRY_ADDRESS });
  const greeter = newService({ name: "greeter", version: `exit-${randomUUID()}`, registry });
  greeter.handle(
    {
      async Hello(_ctx: unknown, req: { name: string }) {
        return { msg: `Hello ${req.name}` };
      },
    },
    { name: "Greeter" },
  );
  before(() => greeter.start());
  after(async () => {
    await greeter.stop();
    await registry.close();
  });

  it("the greeter client with MICRO_REGISTRY=nats", async () => {
    const r = await run("examples/greeter/client.mjs", ["Ada"], nats);
    assert.equal(r.code, 0, `exit status 0 (stderr: ${r.stderr})`);
    assert.match(r.stdout, /^Hello Ada$/m);
    console.log(`greeter client with the NATS registry exited in ${r.ms} ms`);
  });

  const publisher = "test/exit/publisher.mjs";

  for (const broker of ["nats", "jetstream", "redis", "rabbitmq"]) {
    it(`a publisher with MICRO_BROKER=${broker}`, async () => {
      const r = await run(publisher, [`tsmicro.exit.${randomUUID()}`], { MICRO_BROKER: broker });
      assert.equal(r.code, 0, `exit status 0 (stderr: ${r.stderr})`);
      assert.match(r.stdout, /^published$/m);
      console.log(`publisher on ${broker} exited in ${r.ms} ms`);
    });
  }

  it("a service run() with MICRO_REGISTRY=consul exits 1 with one line saying what to install, no stack trace", async () => {
    const r = await run("examples/greeter/service.mjs", [], { MICRO_REGISTRY: "consul" });
    assert.equal(r.code, 1, `exit status 1 (stderr: ${r.stderr})`);
    assert.equal(
      r.stderr.trim(),
      "tsmicro: MICRO_REGISTRY=consul needs the package @tsmicro/consul, which is not installed: run npm install @tsmicro/consul",
    );
  });
});
