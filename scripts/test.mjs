#!/usr/bin/env node
// Runs every test file with node's test runner (TypeScript through tsx).
// Usage: node scripts/test.mjs [filter...]   — a filter keeps files whose path contains it.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const extra = process.argv.slice(2).filter((a) => a.startsWith("-"));

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.test\.(ts|mts|mjs)$/.test(name)) out.push(relative(root, p));
  }
  return out;
}

const files = [
  ...walk(join(root, "packages"), []),
  ...walk(join(root, "test"), []),
  ...walk(join(root, "examples"), []),
]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
// Two cores: files run two at a time; each test bounds its own waits.
const args = [
  "--import",
  "tsx",
  "--test",
  "--test-concurrency=2",
  "--test-reporter=spec",
  ...extra,
  ...files,
];
// A test file whose process never exits (a leaked child, a handle left open) would hold the whole
// run until CI's limit: past TSMICRO_TEST_LIMIT_MIN minutes (default 30) the run fails, naming the
// test files still running, and everything it started is killed.
const limitMin = Number(process.env.TSMICRO_TEST_LIMIT_MIN ?? 30);
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, TSMICRO_TEST: "1" },
  detached: true, // its own process group, so the limit can kill every descendant
});
const limit = setTimeout(() => {
  let running = "";
  try {
    running = execFileSync("ps", ["-o", "pid=,etime=,args=", "-g", String(child.pid)], { encoding: "utf8" });
  } catch {}
  const files = running
    .split("\n")
    .filter((l) => /\.test\.(ts|mts|mjs)/.test(l))
    .map((l) => `  ${l.trim()}`);
  console.error(
    `\ntest run exceeded ${limitMin} min: a test file did not finish (a leaked process or an open handle). Still running:\n${files.join("\n") || running}`,
  );
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {}
  process.exit(1);
}, limitMin * 60_000);
limit.unref();
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
    process.exit(130);
  });
}
child.on("exit", (code, signal) => {
  clearTimeout(limit);
  process.exit(code ?? (signal ? 1 : 1));
});
