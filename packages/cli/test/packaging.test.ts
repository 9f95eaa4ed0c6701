/**
 * What a user gets from npm, before any release: every workspace package packed with `npm pack`
 * (prepack builds it), the tarballs installed into a fresh project outside the repository, and
 * from there the greeter example, a call through the NATS registry (127.0.0.1:4222), the CLI,
 * and the README's "Start your own service" commands exactly as written:
 * `npx tsmicro new shop && cd shop && npm start`.
 *
 * How the local packages stand in for the registry: the sandbox project has the tarballs (and
 * tsx) installed, so `npx tsmicro` finds the `tsmicro` bin in the sandbox's node_modules instead of
 * downloading it; `tsmicro new` sees its dependencies already resolve from there and does not run
 * `npm install` (which would ask the registry); `npm start` in shop/ finds tsx and tsmicro in the
 * enclosing node_modules, as in any workspace. The commands are the README's, unchanged.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { cleanEnv, exec, INSTALL, npm, pack, ROOT } from "./pack.js";

const PACKAGES = readdirSync(join(ROOT, "packages")).sort();
let tarballs: string[];
let sandbox: string;
let regDir: string;
const children: ChildProcess[] = [];

before(async () => {
  tarballs = await pack(PACKAGES);
  sandbox = mkdtempSync(join(tmpdir(), "tsmicro-sandbox-"));
  regDir = mkdtempSync(join(tmpdir(), "tsmicro-sandbox-reg-"));
  writeFileSync(
    join(sandbox, "package.json"),
    JSON.stringify({ name: "sandbox", private: true, type: "module" }),
  );
  const r = await npm([...INSTALL, ...tarballs, "tsx@^4.23.15"], sandbox, 400_000);
  assert.equal(r.code, 0, `npm install of the tarballs: ${r.stderr}`);
});

after(async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.pid === undefined) continue;
    try {
      process.kill(-c.pid, "SIGKILL");
    } catch {} // the group is already gone
  }
  rmSync(sandbox, { recursive: true, force: true });
  rmSync(regDir, { recursive: true, force: true });
});

/** A long-running process in its own process group (npm start runs tsx runs node). */
function background(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): ChildProcess & { output: () => string } {
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let text = "";
  child.stdout!.on("data", (d) => {
    text += d;
  });
  child.stderr!.on("data", (d) => {
    text += d;
  });
  return Object.assign(child, { output: () => text });
}

async function stopGroup(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.pid === undefined) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  process.kill(-child.pid, "SIGINT");
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Repeats `attempt` until it resolves with a value, for at most `ms`. */
async function until<T>(ms: number, what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await attempt();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("every tarball has its README, the LICENSE, package.json and a built dist/ (tsmicro also docs/)", () => {
  assert.equal(tarballs.length, PACKAGES.length, `one tarball per package: ${tarballs.join(", ")}`);
  for (const t of tarballs) {
    const files = execFileSync("tar", ["tzf", t]).toString().split("\n");
    for (const f of [
      "package/LICENSE",
      "package/README.md",
      "package/package.json",
      "package/dist/index.js",
    ]) {
      assert.ok(files.includes(f), `${t} has ${f}`);
    }
    if (/\/tsmicro-0/.test(t))
      assert.ok(
        files.some((f) => f.startsWith("package/docs/")),
        "tsmicro has docs/",
      );
  }
});

test("from the sandbox: the greeter example, and the CLI sees and calls it", async () => {
  for (const f of ["service.mjs", "client.mjs"])
    copyFileSync(join(ROOT, "examples/greeter", f), join(sandbox, f));
  const env = cleanEnv({ MICRO_REGISTRY: "local", MICRO_REGISTRY_ADDRESS: regDir });
  const service = background(process.execPath, ["service.mjs"], sandbox, env);
  const hello = await until(20_000, "the greeter client to get an answer", async () => {
    const r = await exec(process.execPath, ["client.mjs", "Ada"], sandbox, 10_000, env);
    return r.code === 0 ? r.stdout : undefined;
  });
  assert.equal(hello.trim(), "Hello Ada");
  const services = await exec("npx", ["tsmicro", "services"], sandbox, 30_000, env);
  assert.equal(services.code, 0, services.stderr);
  assert.match(services.stdout, /^greeter\s+1\.0\.0\s+1\s+1$/m);
  const call = await exec(
    "npx",
    ["tsmicro", "call", "greeter", "Greeter.Hello", '{"name":"cli"}'],
    sandbox,
    30_000,
    env,
  );
  assert.equal(call.code, 0, call.stderr);
  assert.equal(JSON.parse(call.stdout).msg, "Hello cli");
  assert.equal(await stopGroup(service), 0, service.output());
});

test("from the sandbox: a call through the NATS registry on 127.0.0.1:4222", async () => {
  const name = `sandbox-nats-${process.pid}-${Date.now()}`;
  writeFileSync(
    join(sandbox, "nats-service.mjs"),
    `import { newService } from "tsmicro";
class Echo { async Say(_ctx, req) { return { said: req.text }; } }
const service = newService({ name: ${JSON.stringify(name)} });
service.handle(new Echo());
await service.run();
`,
  );
  const env = cleanEnv({ MICRO_REGISTRY: "nats", MICRO_REGISTRY_ADDRESS: "127.0.0.1:4222" });
  const service = background(process.execPath, ["nats-service.mjs"], sandbox, env);
  const said = await until(20_000, `${name} to answer through the NATS registry`, async () => {
    const r = await exec(
      "npx",
      ["tsmicro", "call", name, "Echo.Say", '{"text":"over nats"}'],
      sandbox,
      20_000,
      env,
    );
    return r.code === 0 ? JSON.parse(r.stdout).said : undefined;
  });
  assert.equal(said, "over nats");
  assert.equal(await stopGroup(service), 0, service.output());
});

test("the README's Start your own service: npx tsmicro new shop && cd shop && npm start", async () => {
  const env = cleanEnv({ MICRO_REGISTRY: "local", MICRO_REGISTRY_ADDRESS: regDir });
  const shop = background("bash", ["-c", "npx tsmicro new shop && cd shop && npm start"], sandbox, env);
  const answer = await until(60_000, "shop to answer Shop.hello", async () => {
    if (shop.exitCode !== null)
      throw new Error(`the commands exited with ${shop.exitCode}: ${shop.output()}`);
    const r = await exec(
      "npx",
      ["tsmicro", "call", "shop", "Shop.hello", '{"name":"Ada"}'],
      sandbox,
      20_000,
      env,
    );
    return r.code === 0 ? JSON.parse(r.stdout).message : undefined;
  });
  assert.equal(answer, "Hello Ada");
  assert.match(shop.output(), /created shop\/ \(template basic\)/);
  assert.match(shop.output(), /npm install: not needed/);
  assert.match(
    shop.output(),
    /tsmicro: shop listening on 127\.0\.0\.1:\d+, registered in local \(.*\); Ctrl-C stops it/,
  );
  await stopGroup(shop);
});
