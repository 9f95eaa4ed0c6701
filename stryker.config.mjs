// Mutation testing of the core (issue 20): `npm run mutation`. Stryker mutates the core's sources,
// type-checks each mutant (the TypeScript checker drops the ones that do not compile), and runs
// only the test files that cover the mutated code (perTest coverage over node:test's TAP output).
// Incremental: reruns test only mutants in code or tests changed since mutation/incremental.json.
import { readdirSync } from "node:fs";
import { basename } from "node:path";

// The long property suites run in `npm test`; here they would make every mutant slow. The type
// test runs tsc, which a mutant of the runtime code cannot change; the seed test runs the built dist/;
// the surface test parses the source text for doc comments, which Stryker's instrumentation rewrites.
const SLOW = new Set([
  "chaos",
  "fuzz",
  "net-fuzz",
  "flood",
  "contract-types",
  "seed",
  "lifecycle-fuzz",
  "surface",
]);
const testsIn = (dir) =>
  readdirSync(dir)
    .filter((f) => /\.test\.(ts|mjs)$/.test(f) && !SLOW.has(f.replace(/\.test\.(ts|mjs)$/, "")))
    .map((f) => `${dir}/${f}`);

// Stryker runs the test files that cover a mutant in this order and stops at the first failure, so
// the likeliest killers go first: the files named in MUTATION_FIRST (comma-separated name
// prefixes; scripts/mutation-changed.mjs passes the mutated files' names), then the rest; in each
// group the pinned tests first (most take milliseconds, an integration file seconds). Order
// changes no result, only how soon a killed mutant is known.
const first = (process.env.MUTATION_FIRST ?? "").split(",").filter(Boolean);
const rank = (file) =>
  (first.some((name) => basename(file).startsWith(name)) ? 0 : 2) + (file.includes("/pinned/") ? 0 : 1);
const ordered = (files) =>
  files
    .map((f, i) => ({ f, i }))
    .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
    .map((x) => x.f);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: "npm",
  testRunner: "tap",
  checkers: ["typescript"],
  tsconfigFile: "mutation/tsconfig.json",
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    "packages/tsmicro/src/**/*.ts",
    "!packages/tsmicro/src/testing/**",
    "!packages/tsmicro/src/**/index.ts",
  ],
  tap: {
    testFiles: ordered([
      ...testsIn("packages/tsmicro/test"),
      ...testsIn("packages/tsmicro/test/pinned"),
      ...testsIn("packages/tsmicro/test/security"),
    ]),
    nodeArgs: ["--import", "tsx", "-r", "{{hookFile}}"],
    forceBail: true,
  },
  coverageAnalysis: "perTest",
  incremental: true,
  incrementalFile: "mutation/incremental.json",
  reporters: ["html", "json", "clear-text", "progress"],
  htmlReporter: { fileName: "mutation/report/index.html" },
  jsonReporter: { fileName: "mutation/report/mutation.json" },
  thresholds: { high: 95, low: 90, break: null },
  concurrency: 2,
  // A test that waits forever on a mutant is a test that lacks a bound: count it, keep it short.
  timeoutMS: 5000,
  timeoutFactor: 2,
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
