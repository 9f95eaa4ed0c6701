/**
 * Security suite, HTTP side (issue 19): no request kills the process that serves the health,
 * metrics and HTTP-broker listeners or a gRPC service. First the requests a review found to
 * crash them, then a fast-check fuzzer (2,000 cases per listener) whose property is that the
 * process is alive after every case and serves a good request afterwards. Everything runs in
 * a child process, so a crash shows as an exit rather than inside the test runner.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  brokerGood,
  fuzzGrpc,
  fuzzHttp1,
  get,
  http1,
  type Served,
  sendRaw,
  startListeners,
  statusOf,
} from "./http-fuzz.js";

const CASES = 2000;
const seed = Number(process.env.TSMICRO_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
let served: Served;
before(async () => {
  served = await startListeners();
});
after(async () => {
  await served?.stop();
});

function assertAlive(what: string) {
  assert.ok(served.alive(), `the listeners' process died after ${what}; stderr:\n${served.stderr()}`);
}

describe("security: requests that crashed a listener are answered 400", () => {
  const crashers: [keyof Served["addresses"], string, string][] = [
    ["health", "GET", "//%zz"],
    ["health", "GET", "http://[::1/x"],
    ["metrics", "GET", "//%zz"],
    ["metrics", "GET", "http://[::1/x"],
    ["broker", "POST", "/broker/%"],
  ];
  for (const [listener, method, target] of crashers) {
    test(`${listener}: ${method} ${target} → 400, and the process serves on`, async () => {
      const address = served.addresses[listener];
      const answer = await sendRaw(
        address,
        http1(method, target, [
          ["Host", address],
          ["Connection", "close"],
        ]),
      );
      // The process may die a moment after the socket closes: give it a round trip to show it.
      const good = await sendRaw(served.addresses.health, get(served.addresses.health, "/livez")).catch(
        (e: Error) => e.message,
      );
      assertAlive(`${method} ${target}`);
      assert.equal(statusOf(answer), 400, answer);
      assert.equal(statusOf(good), 200, good);
    });
  }
});

describe("security: health and metrics answer only the Hosts they serve (DNS rebinding)", () => {
  for (const listener of ["health", "metrics"] as const) {
    test(`${listener}: a foreign Host gets 421, a loopback Host 200`, async () => {
      const address = served.addresses[listener];
      const path = listener === "health" ? "/livez" : "/metrics";
      const port = address.slice(address.lastIndexOf(":") + 1);
      const foreign = await sendRaw(
        address,
        http1("GET", path, [
          ["Host", `rebound.example:${port}`],
          ["Connection", "close"],
        ]),
      );
      assert.equal(statusOf(foreign), 421, foreign);
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
        const ok = await sendRaw(
          address,
          http1("GET", path, [
            ["Host", host],
            ["Connection", "close"],
          ]),
        );
        assert.equal(statusOf(ok), 200, `${host}: ${ok}`);
      }
      // No Host at all (HTTP/1.0 style) is not an allowed name either.
      const none = await sendRaw(address, Buffer.from(`GET ${path} HTTP/1.0\r\n\r\n`));
      assert.equal(statusOf(none), 421, none);
    });
  }
});

describe(`security: HTTP request-target and header fuzzer (${CASES} cases per listener, seed ${seed})`, () => {
  const paths = {
    health: ["/livez", "/readyz", "/health"],
    metrics: ["/metrics"],
  };
  test("health listener", async () => {
    const a = served.addresses;
    const r = await fuzzHttp1(served, "health", a.health, paths.health, get(a.health, "/livez"), CASES, seed);
    assert.equal(r.failure, undefined, r.failure);
    assert.equal(r.runs, CASES);
  });
  test("metrics listener", async () => {
    const a = served.addresses;
    const r = await fuzzHttp1(
      served,
      "metrics",
      a.metrics,
      paths.metrics,
      get(a.metrics, "/metrics"),
      CASES,
      seed,
    );
    assert.equal(r.failure, undefined, r.failure);
    assert.equal(r.runs, CASES);
  });
  test("http broker subscriber listener", async () => {
    const a = served.addresses;
    const r = await fuzzHttp1(
      served,
      "http-broker",
      a.broker,
      [a.brokerPath, "/broker/"],
      brokerGood(a),
      CASES,
      seed,
    );
    assert.equal(r.failure, undefined, r.failure);
    assert.equal(r.runs, CASES);
  });
  test("gRPC server", async () => {
    const r = await fuzzGrpc(served, CASES, seed);
    assert.equal(r.failure, undefined, r.failure);
    assert.equal(r.runs, CASES);
  });
});
