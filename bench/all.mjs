// `npm run bench`: every benchmark of the project, one after another, each printing its own
// markdown table; the tables are gathered into bench/results/all-latest.md with the date and the
// machine (BENCHMARKS.md quotes them, dated, with what each shows).
//
//   npm run bench [-- --quick] [-- --only unary,discovery,messaging,streaming,ops,security,store,scale]
//
// Each part is its own script (bench/<part>/run.mjs, bench/run.mjs for unary) and can be run
// alone with its own options. Machines here are noisy: read medians and ratios, not absolutes.
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const PARTS = {
  unary: {
    script: "run.mjs",
    title:
      "Unary echo: tsmicro vs the raw socket, grpc-js and moleculer (issue 2), stall doctor on/off (issue 3)",
  },
  discovery: {
    script: "discovery/run.mjs",
    title: "Discovery at scale: 1,000 services × 3 nodes per registry (issue 4)",
  },
  messaging: {
    script: "messaging/run.mjs",
    title: "Messaging: publish → handle per broker beside the raw client (issue 5)",
  },
  streaming: { script: "streaming/run.mjs", title: "Streaming and gRPC (issue 6)" },
  ops: { script: "ops/run.mjs", title: "Metrics, tracing and logging wrappers on vs off (issue 7)" },
  security: { script: "security/run.mjs", title: "TLS and auth overhead (issue 8)" },
  store: {
    script: "store/run.mjs",
    title: "Store: read and write per backend beside the raw driver (issue 18)",
  },
  scale: {
    script: "scale/run.mjs",
    title: "Scale: 10,000 connections, 100,000 calls in flight, fan-out to 1,000 × 3 (issue 16)",
  },
};
const { values: args } = parseArgs({
  options: { quick: { type: "boolean", default: false }, only: { type: "string" }, out: { type: "string" } },
});
const only = args.only ? args.only.split(",") : Object.keys(PARTS);

function runPart(script) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, script), ...(args.quick ? ["--quick"] : [])], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on("close", (code) => resolve({ code, out }));
  });
}

const started = new Date();
const sections = [];
let failed = 0;
for (const name of only) {
  const part = PARTS[name];
  if (!part) throw new Error(`unknown part "${name}"; parts: ${Object.keys(PARTS).join(", ")}`);
  if (!existsSync(path.join(here, part.script))) {
    sections.push(`## ${part.title}\n\nNot run: ${part.script} is missing.\n`);
    continue;
  }
  console.log(`\n=== ${name}: node bench/${part.script}${args.quick ? " --quick" : ""}\n`);
  const t0 = Date.now();
  const { code, out } = await runPart(part.script);
  if (code !== 0) failed++;
  sections.push(
    `## ${part.title}\n\n\`node bench/${part.script}${args.quick ? " --quick" : ""}\` — ${((Date.now() - t0) / 1000).toFixed(0)} s${code === 0 ? "" : `, exited with ${code}`}\n\n${out.trim()}\n`,
  );
}
const cpus = os.cpus();
const header = `# Benchmarks

Measured ${started.toISOString().slice(0, 10)} on ${cpus.length} × ${cpus[0]?.model ?? "?"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}; load average at start ${os.loadavg()[0].toFixed(2)}.
Produced by \`npm run bench${args.quick ? " -- --quick" : ""}\`. Every server and load generator is its own process on 127.0.0.1.
This machine is shared and noisy: compare medians and ratios within one table, not absolute numbers across tables.
`;
// BENCHMARKS.md is curated (each table dated, with its analysis beside it): a run never
// overwrites it; copy the tables it needs from here, or pass --out to write elsewhere.
const file = args.out ?? path.join(here, "results", "all-latest.md");
writeFileSync(file, `${header}\n${sections.join("\n")}`);
console.log(`\nwritten to ${path.relative(process.cwd(), file)}`);
process.exit(failed === 0 ? 0 : 1);
