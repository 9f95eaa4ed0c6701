#!/usr/bin/env node
// Mutation check of the core files changed since the recorded run (issue 20), for CI.
//
//   node scripts/mutation-changed.mjs            run Stryker on the changed files, fail below the floor
//   node scripts/mutation-changed.mjs --record   after a run: record every core file's hash and the
//                                                scores in mutation/report/mutation.json
//   node scripts/mutation-changed.mjs --files a.ts,b.ts
//                                                run Stryker on those files (paths under
//                                                packages/tsmicro/src), unbounded; then
//                                                --record --files a.ts,b.ts
//
// --record --files a.ts,b.ts takes only those files' scores from the report: the report also
// holds every other file's last result from the incremental file, which may predate tests
// added since (a score measured with those tests is recorded, and not overwritten by it). The
// other files keep their entries unchanged, hash included, so a file changed and not measured
// is still "changed" for the check.
//
// mutation/recorded.json holds, for every core source file Stryker mutates, its content hash and
// (once measured) its mutation score. A file whose hash differs, or that is new, is "changed".
// Stryker runs on those files only, incrementally (mutation/incremental.json: unchanged mutants
// and tests keep their results), bounded at 15 minutes. A changed file fails the check when its
// score drops below its floor: the threshold (90 %), or its recorded score if that is lower (a
// file measured below the threshold must not get worse; a new file must reach the threshold).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const RECORD = join(root, "mutation/recorded.json");
const REPORT = join(root, "mutation/report/mutation.json");
const SRC = "packages/tsmicro/src";
const THRESHOLD = 90;
const BOUND_MS = 15 * 60_000;

/** The files stryker.config.mjs mutates: the core's sources, not testing/ nor index.ts files. */
function coreFiles(dir = join(root, SRC), out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (relative(join(root, SRC), p) !== "testing") coreFiles(p, out);
    } else if (name.endsWith(".ts") && name !== "index.ts" && !name.endsWith(".d.ts")) {
      out.push(relative(root, p));
    }
  }
  return out.sort();
}

const hash = (file) =>
  createHash("sha256")
    .update(readFileSync(join(root, file)))
    .digest("hex");

/** Per file: Stryker's mutation score (detected ÷ valid mutants), from a JSON report. */
function scores(report) {
  const out = {};
  for (const [file, { mutants }] of Object.entries(report.files)) {
    let detected = 0;
    let valid = 0;
    for (const m of mutants) {
      if (m.status === "CompileError" || m.status === "RuntimeError" || m.status === "Ignored") continue;
      valid++;
      if (m.status === "Killed" || m.status === "Timeout") detected++;
    }
    const timeouts = mutants.filter((m) => m.status === "Timeout").length;
    out[relative(root, join(root, file))] = {
      score: valid === 0 ? 100 : Math.round((1000 * detected) / valid) / 10,
      valid,
      timeouts,
    };
  }
  return out;
}

const filesArg = process.argv.indexOf("--files");
const asked = filesArg === -1 ? undefined : (process.argv[filesArg + 1] ?? "").split(",").filter(Boolean);
if (asked !== undefined) {
  for (const f of asked)
    if (!existsSync(join(root, SRC, f))) throw new Error(`mutation: --files ${f}: no ${SRC}/${f}`);
}

if (process.argv.includes("--record")) {
  const prev = existsSync(RECORD) ? JSON.parse(readFileSync(RECORD, "utf8")).files : {};
  // Without a report, only the hashes are recorded (the files are the baseline, unmeasured).
  const reported = existsSync(REPORT) ? scores(JSON.parse(readFileSync(REPORT, "utf8"))) : {};
  const measured = Object.fromEntries(
    Object.entries(reported).filter(([f]) => asked === undefined || asked.some((a) => f === `${SRC}/${a}`)),
  );
  const files = {};
  for (const f of coreFiles()) {
    const m = measured[f];
    // With --files, a file not asked for keeps its entry as it was, old hash included: a change
    // to it stays a change for the check (recording one file must not re-baseline another).
    if (asked !== undefined && m === undefined && prev[f] !== undefined) {
      files[f] = prev[f];
      continue;
    }
    // A file the report does not cover keeps its earlier score only if it did not change.
    const kept = prev[f]?.sha256 === hash(f) ? prev[f] : undefined;
    files[f] = {
      sha256: hash(f),
      ...(m
        ? { score: m.score, valid: m.valid, timeouts: m.timeouts }
        : kept?.score !== undefined
          ? { score: kept.score, valid: kept.valid, timeouts: kept.timeouts }
          : {}),
    };
  }
  writeFileSync(
    RECORD,
    `${JSON.stringify({ date: new Date().toISOString().slice(0, 10), threshold: THRESHOLD, files }, null, 2)}\n`,
  );
  const n = Object.values(files).filter((f) => f.score !== undefined).length;
  console.log(
    `mutation: recorded ${Object.keys(files).length} core files, ${n} with a score, in ${relative(root, RECORD)}`,
  );
  process.exit(0);
}

if (!existsSync(RECORD))
  throw new Error(`mutation: no ${relative(root, RECORD)}; run \`npm run mutation\` then --record`);
const record = JSON.parse(readFileSync(RECORD, "utf8"));
const changed =
  asked?.map((f) => `${SRC}/${f}`) ?? coreFiles().filter((f) => record.files[f]?.sha256 !== hash(f));
if (changed.length === 0) {
  console.log(`mutation: no core file changed since the recorded run (${record.date}); nothing to test`);
  process.exit(0);
}
console.log(
  asked
    ? `mutation: ${changed.length} file(s) asked for: ${changed.join(", ")}`
    : `mutation: ${changed.length} core file(s) changed since ${record.date}: ${changed.join(", ")}`,
);

const started = Date.now();
const child = spawn(
  process.execPath,
  [
    join(root, "node_modules/@stryker-mutator/core/bin/stryker.js"),
    "run",
    "--mutate",
    changed.join(","),
    "--reporters",
    asked ? "json,clear-text,html" : "json,clear-text",
  ],
  {
    cwd: root,
    stdio: "inherit",
    detached: true,
    // Test files named after the mutated files run first (stryker.config.mjs).
    env: {
      ...process.env,
      MUTATION_FIRST: process.env.MUTATION_FIRST ?? changed.map((f) => basename(f, ".ts")).join(","),
    },
  },
);
// Asked for by hand (--files): no bound, the run takes what it takes.
const timer = setTimeout(
  () => {
    console.error(
      `mutation: the check of ${changed.length} changed file(s) passed its ${BOUND_MS / 60_000}-minute bound; stopping it`,
    );
    process.kill(-child.pid, "SIGKILL");
  },
  asked ? 2 ** 31 - 1 : BOUND_MS,
);
const code = await new Promise((resolve) => child.on("exit", (c, sig) => resolve(sig ? 1 : c)));
clearTimeout(timer);
if (code !== 0) {
  console.error(
    `mutation: Stryker failed (exit ${code}) after ${Math.round((Date.now() - started) / 1000)} s`,
  );
  process.exit(1);
}
const got = scores(JSON.parse(readFileSync(REPORT, "utf8")));
const below = [];
for (const f of changed) {
  const floor = Math.min(record.threshold ?? THRESHOLD, record.files[f]?.score ?? THRESHOLD);
  const s = got[f];
  if (s === undefined) continue; // no mutant in the file (types only)
  const line = `${f}: ${s.score} % of ${s.valid} mutants (floor ${floor} %)`;
  console.log(`mutation: ${line}`);
  if (s.score < floor) below.push(line);
}
console.log(`mutation: checked in ${Math.round((Date.now() - started) / 1000)} s`);
if (below.length > 0) {
  console.error(
    `mutation: below the floor: ${below.join("; ")}. Run "npm run mutation -- --mutate <file>" for the HTML report of the surviving mutants (mutation/report/index.html).`,
  );
  process.exit(1);
}
