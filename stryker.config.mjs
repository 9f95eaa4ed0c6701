// Mutation testing of the core (issue 20): `npm run mutation`. Stryker mutates the core's sources,
// type-checks each mutant (the TypeScript checker drops the ones that do not compile), and runs
// only the test files that cover the mutated code (perTest coverage over node:test's TAP output).
// Incremental: reruns test only mutants in code or tests changed since mutation/incremental.json.
import { readdirSync } from "node:fs";

// The long property suites run in `npm test`; here they would make every mutant slow. The type
// test runs tsc, which a mutant of the runtime code cannot change; the seed test runs the built dist/.
const SLOW = new Set(["chaos", "fuzz", "net-fuzz", "flood", "contract-types", "seed", "lifecycle-fuzz"]);
const testsIn = (dir) =>
  readdirSync(dir)
    .filter((f) => /\.test\.(ts|mjs)$/.test(f) && !SLOW.has(f.replace(/\.test\.(ts|mjs)$/, "")))
    .map((f) => `${dir}/${f}`);

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
    testFiles: [...testsIn("packages/tsmicro/test"), ...testsIn("packages/tsmicro/test/pinned")],
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
