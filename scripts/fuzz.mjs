#!/usr/bin/env node
// Long fuzz mode: the same properties as `npm test` (packages/tsmicro/test/fuzz/properties.ts),
// with many more cases. Usage: npm run fuzz -- [--runs 1000000] [--seed N]
import { parseArgs } from "node:util";
import { register } from "tsx/esm/api";

register();
const { values } = parseArgs({
  options: { runs: { type: "string", default: "1000000" }, seed: { type: "string" } },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!(Number.isInteger(runs) && runs > 0)) {
  console.error(`--runs must be a positive integer, got ${values.runs}`);
  process.exit(2);
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
