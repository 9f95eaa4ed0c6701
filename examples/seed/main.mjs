// The seed demo: go-micro #2708's nested-call-during-Init scenario, across two processes.
// Starts TestService in a child process, fires FuncA many times at once from this process
// while both processes re-initialise their clients in a loop, and reports what completed.
// With --with-go (and a Go toolchain), one more row: the same call graph in a real go-micro
// v4.10.2 program (packages/gomicro/test/go/seed), built once and cached.
import { fork } from "node:child_process";
import { defaultClient, newClient, newRequest } from "tsmicro";
import { fireConcurrently } from "./harness.mjs";

const COUNT = Number(process.env.SEED_CALLS ?? 1000);
const STALL_MS = 5000;

async function scenario(label, clientFlag) {
  const child = fork(new URL("./server.mjs", import.meta.url), [clientFlag], { stdio: "inherit" });
  const address = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("TestService did not start within 10 s")), 10_000);
    child.once("message", (m) => {
      clearTimeout(t);
      resolve(m.address);
    });
    child.once("exit", (code) => reject(new Error(`TestService exited early with code ${code}`)));
  });
  const client = clientFlag === "--client=new" ? newClient() : defaultClient;
  client.init({ requestTimeoutMs: 10_000 });
  // An init() storm in this process too, for as long as the calls run.
  let storming = true;
  let inits = 0;
  const storm = (async () => {
    while (storming) {
      client.init(
        inits % 20 === 0 ? { retries: 2, poolSize: 1 + (inits % 4) } : { retries: 1 + (inits % 3) },
      );
      inits++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  const r = await fireConcurrently({
    count: COUNT,
    stallMs: STALL_MS,
    call: (ctx) => client.call(ctx, newRequest("TestService", "TestService.FuncA", {}), { address }),
  });
  storming = false;
  await storm;
  child.disconnect();
  await new Promise((resolve) => child.once("exit", resolve));
  if (client !== defaultClient) await client.close();
  return { label, ...r, inits };
}

/** The go-micro row: its own service and driver processes; expected to stall, so never a failure here. */
async function goMicroScenario() {
  let testing;
  try {
    testing = await import("@tsmicro/gomicro/testing");
    testing.goBinary();
  } catch (err) {
    return { skipped: `--with-go: skipped (${err.message})` };
  }
  const build = await testing.buildGoPrograms();
  const server = testing.startGo(build, "seed", ["serve"]);
  try {
    const { listening } = await server.json("the go-micro seed server", 15_000, (v) => "listening" in v);
    const driver = testing.startGo(build, "seed", [
      "drive",
      "-addr",
      listening,
      "-n",
      String(COUNT),
      "-bound",
      `${STALL_MS}ms`,
    ]);
    try {
      const r = await driver.json("the go-micro driver's summary", STALL_MS + 30_000, (v) => "stuck" in v);
      return { ...r, build };
    } finally {
      await driver.kill();
    }
  } finally {
    await server.kill();
  }
}

const rows = [
  await scenario("defaultClient", "--client=default"),
  await scenario("newClient()", "--client=new"),
];
const goRow = process.argv.includes("--with-go") ? await goMicroScenario() : undefined;
await defaultClient.close();
console.log(
  "\ngo-micro #2708 scenario: FuncA -> FuncB (init() + nested call) -> FuncC, across two processes\n",
);
console.log("| client | calls | completed | failed | stalled | p50 ms | p99 ms | init() calls here |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.label} | ${r.count} | ${r.completed} | ${r.failed} | ${r.stalled} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.inits} |`,
  );
  for (const e of r.errors) console.log(`  error: ${e}`);
}
if (goRow?.skipped) console.log(goRow.skipped);
else if (goRow) {
  console.log(
    `| go-micro v4.10.2 client.DefaultClient (real Go program, --with-go) | ${goRow.calls} | ${goRow.completed} | ${goRow.failed} | ${goRow.stuck} | - | - | one per FuncB |`,
  );
  for (const e of goRow.errors) console.log(`  error: ${e}`);
  console.log(
    `  (go-micro's row counts calls still running at the ${STALL_MS} ms bound as stalled; Go build ${goRow.build.cached ? `cached, first took ${goRow.build.buildMs} ms` : `took ${goRow.build.buildMs} ms`})`,
  );
}
const bad = rows.some((r) => r.stalled > 0 || r.failed > 0);
console.log(bad ? "\nFAIL: some calls stalled or failed" : "\nOK: every call completed, 0 stalled");
process.exit(bad ? 1 : 0);
