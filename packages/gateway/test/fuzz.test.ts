/**
 * The gateway under a request-target and header fuzzer, in a process of its own with a real
 * service: alive after every case, and serving good requests throughout. `FUZZ_RUNS` raises the
 * count (e.g. `FUZZ_RUNS=100000 node scripts/test.mjs packages/gateway/test/fuzz`).
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, test } from "node:test";
import { fuzzHttp, GATEWAY_PATHS, goodGatewayRequest, sendRaw, startProcess, stop } from "./fuzz-http.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
let child: ChildProcess;
let address: string;
let stderr: () => string;

before(async () => {
  ({ child, address, stderr } = await startProcess("gateway-process.ts"));
});

after(() => stop(child));

const good = goodGatewayRequest();

test(`${RUNS} fuzzed request targets and headers: the gateway process stays alive and keeps serving`, async () => {
  const alive = () => child.exitCode === null && child.signalCode === null;
  const healthy = async () => (await sendRaw(address, good)) === 200;
  assert.ok(await healthy(), "the good request works before fuzzing");
  const report = await fuzzHttp({
    address,
    alive,
    healthy,
    numRuns: RUNS,
    paths: GATEWAY_PATHS,
  });
  assert.equal(report.cases, RUNS);
  assert.ok(alive(), `the process is alive: ${stderr()}`);
  // Most cases must reach the gateway's own code, not just Node's parser (which answers 400 for a bad request line).
  const answered = Object.entries(report.statuses)
    .filter(([s]) => s !== "400" && s !== "0")
    .reduce((n, [, c]) => n + c, 0);
  console.log(`fuzz: ${report.cases} cases in ${report.ms} ms, statuses ${JSON.stringify(report.statuses)}`);
  assert.ok(
    answered > RUNS / 10,
    `only ${answered} cases got past the HTTP parser: ${JSON.stringify(report.statuses)}`,
  );
});

test("negative control: the fuzzer catches a listener that dies on a bad target", async () => {
  const fragile = await startProcess("fragile-process.ts");
  try {
    const ok = Buffer.from("GET /x HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n");
    await assert.rejects(
      fuzzHttp({
        address: fragile.address,
        alive: () => fragile.child.exitCode === null && fragile.child.signalCode === null,
        healthy: async () => (await sendRaw(fragile.address, ok)) === 200,
        numRuns: RUNS,
        paths: ["/x"],
      }),
      (err: Error) => {
        const why = `${err.message} ${(err.cause as Error | undefined)?.message}`;
        assert.match(why, /the process died after case \d+|a good request failed/);
        return true;
      },
    );
  } finally {
    await stop(fragile.child);
  }
});
