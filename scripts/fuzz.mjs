#!/usr/bin/env node
// Long fuzz mode: the same properties as `npm test` (packages/tsmicro/test/fuzz/properties.ts),
// with many more cases. Usage: npm run fuzz -- [--runs 1000000] [--seed N]
// With --http: the HTTP request-target and header fuzzer of the security suite
// (test/security/http-fuzz.ts) against the health, metrics, HTTP-broker and gRPC listeners of
// one child process, --runs cases in all (split evenly); needs `npm run build` first.
import { parseArgs } from "node:util";
import { register } from "tsx/esm/api";

register();
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1000000" },
    seed: { type: "string" },
    http: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!(Number.isInteger(runs) && runs > 0)) {
  console.error(`--runs must be a positive integer, got ${values.runs}`);
  process.exit(2);
}
if (values.http) {
  const { runHttpFuzz } = await import("../test/security/http-fuzz.ts");
  const perListener = Math.ceil(runs / 4);
  console.log(
    `fuzz --http: ${perListener} cases per listener (4 listeners), seed ${seed} (replay with --seed ${seed})`,
  );
  const t0 = performance.now();
  const results = await runHttpFuzz(perListener, seed, (r) => {
    const status =
      r.failure === undefined ? "ok, process alive, good request served" : `FAILED: ${r.failure}`;
    console.log(
      `  ${String(r.runs).padStart(8)} cases ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${r.name}: ${status}`,
    );
  });
  const total = results.reduce((n, r) => n + r.runs, 0);
  const crashes = results.filter((r) => r.failure !== undefined).length;
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`fuzz --http: ${total} cases in ${secs} s, ${crashes} crashes (seed ${seed})`);
  process.exit(crashes === 0 ? 0 : 1);
}
const { runFuzz } = await import("../packages/tsmicro/test/fuzz/properties.ts");
console.log(`fuzz: ${runs} cases, seed ${seed} (replay with --seed ${seed})`);
const t0 = performance.now();
const results = runFuzz(runs, seed, (r) => {
  const status = r.failure === undefined ? "ok" : `FAILED: ${r.failure}`;
  console.log(
    `  ${String(r.runs).padStart(8)} cases ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${r.name}: ${status}`,
  );
});
const total = results.reduce((n, r) => n + r.runs, 0);
const failures = results.filter((r) => r.failure !== undefined).length;
const secs = ((performance.now() - t0) / 1000).toFixed(1);
console.log(
  `fuzz: ${total} cases in ${secs} s, ${failures} failing properties, 0 uncaught crashes (seed ${seed})`,
);
process.exit(failures === 0 ? 0 : 1);
