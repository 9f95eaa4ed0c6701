// Long mode of the chaos suite: `npm run chaos -- --runs 10000 [--seed N] [--workers 4]`;
// with `--lifecycle`, the lifecycle fuzzer's property instead (test/lifecycle/*.ts).
// Splits the runs over worker processes (scenarios mostly wait on timers, so they overlap well),
// each running the same properties as the test suite with its own seed, and prints the totals.
import { fork } from "node:child_process";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { lifecycleProperty } from "../lifecycle/property.js";
import { Peer } from "../lifecycle/world.js";
import { type Knobs, scenarioArb } from "./plan.js";
import { Remote, runScenario } from "./run.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1000" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    workers: { type: "string", default: "4" },
    worker: { type: "string" },
    lifecycle: { type: "boolean", default: false },
  },
});

const MIXES: { name: string; knobs: Knobs; share: number }[] = [
  { name: "friendly, one process", knobs: { hostile: false, twoProcess: false, maxMs: 15 }, share: 0.3 },
  {
    name: "hostile, one process",
    knobs: { hostile: true, twoProcess: false, maxMs: 20, stubbornMs: 300 },
    share: 0.4,
  },
  { name: "friendly, two processes", knobs: { hostile: false, twoProcess: true, maxMs: 15 }, share: 0.1 },
  { name: "hostile, two processes", knobs: { hostile: true, twoProcess: true, maxMs: 20 }, share: 0.2 },
];

async function lifecycleWorker(runs: number, seed: number) {
  const peer = new Peer();
  await peer.ready;
  const r = await fc.check(lifecycleProperty("correct", peer), { seed, numRuns: runs });
  peer.close();
  process.send!([
    {
      mix: "lifecycle",
      runs: r.numRuns,
      failed: r.failed,
      seed,
      counterexample: r.failed ? String(r.counterexample) : undefined,
      error: r.failed ? String((r.errorInstance as Error)?.message) : undefined,
    },
  ]);
}

async function worker(runs: number, seed: number) {
  const remote = new Remote();
  await remote.ready;
  const out: {
    mix: string;
    runs: number;
    failed: boolean;
    seed: number;
    counterexample?: string;
    error?: string;
  }[] = [];
  for (const [i, mix] of MIXES.entries()) {
    const n = Math.max(1, Math.round(runs * mix.share));
    const r = await fc.check(
      fc.asyncProperty(scenarioArb(mix.knobs), async (s) => {
        const { violations } = await runScenario(
          s,
          mix.knobs,
          "correct",
          mix.knobs.twoProcess ? remote : undefined,
        );
        if (violations.length > 0) throw new Error(violations.join("\n"));
      }),
      { seed: seed + i, numRuns: n },
    );
    out.push({
      mix: mix.name,
      runs: r.numRuns,
      failed: r.failed,
      seed: seed + i,
      counterexample: r.failed ? JSON.stringify(r.counterexample) : undefined,
      error: r.failed ? String((r.errorInstance as Error)?.message) : undefined,
    });
  }
  remote.close();
  process.send!(out);
}

if (values.worker !== undefined) {
  const [runs, seed] = values.worker.split(",").map(Number);
  await (values.lifecycle ? lifecycleWorker(runs!, seed!) : worker(runs!, seed!));
  process.exit(0);
} else {
  const total = Number(values.runs);
  const workers = Math.max(1, Number(values.workers));
  const seed = Number(values.seed);
  const t0 = Date.now();
  const what = values.lifecycle ? "lifecycle cases" : "scenarios";
  console.log(`chaos long mode: ${total} ${what} over ${workers} worker(s), base seed ${seed}`);
  const results = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const child = fork(
        new URL(import.meta.url),
        [
          "--worker",
          `${Math.ceil(total / workers)},${seed + w * 100}`,
          ...(values.lifecycle ? ["--lifecycle"] : []),
        ],
        {
          execArgv: ["--import", "tsx"],
        },
      );
      return new Promise<any[]>((resolve, reject) => {
        child.once("message", (m) => resolve(m as any[]));
        child.once("exit", (code) => code !== 0 && reject(new Error(`worker ${w} exited with ${code}`)));
      });
    }),
  );
  const flat = results.flat();
  const runs = flat.reduce((n, r) => n + r.runs, 0);
  const failures = flat.filter((r) => r.failed);
  const wallS = ((Date.now() - t0) / 1000).toFixed(0);
  for (const f of failures)
    console.log(`FAILED ${f.mix} (seed ${f.seed}):\n${f.error}\ncounterexample: ${f.counterexample}`);
  console.log(`chaos long mode: ${runs} ${what}, ${failures.length} failure(s), ${wallS} s wall time`);
  process.exit(failures.length === 0 ? 0 : 1);
}
