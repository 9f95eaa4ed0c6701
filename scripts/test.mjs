#!/usr/bin/env node
// Runs every test file with node's test runner (TypeScript through tsx).
// Usage: node scripts/test.mjs [filter...]   — a filter keeps files whose path contains it.
import { spawnSync } from "node:child_process";
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
const r = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, TSMICRO_TEST: "1" },
});
process.exit(r.status ?? 1);
