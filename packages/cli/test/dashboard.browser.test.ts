/**
 * `tsmicro run` end to end in a real browser (Debian's chromium through playwright-core):
 * the dashboard lists the demo service, calls an endpoint through its form and shows the
 * answer, charts the traffic and shows an in-flight chain. The screenshot goes to
 * artifacts/dashboard.png. Chromium comes from `bash scripts/services.sh` (run by `npm test`).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { BIN, type Demo, jsonLine, startDemo } from "./helpers.js";

/** The page's global, inside the functions playwright runs in the browser. */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = new URL("../../../artifacts/", import.meta.url);

let demo: Demo;
let run: ChildProcess;
let url: string;
let browser: Browser;

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: run \`bash scripts/services.sh\` (installs Debian's chromium)`,
  );
  demo = await startDemo("demo");
  run = spawn(process.execPath, [BIN, "run", "--address", "127.0.0.1:0", "--json"], {
    env: demo.env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  url = (await jsonLine<{ url: string }>(run, "url", 15_000, "tsmicro run to print its url")).url;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
});

after(async () => {
  await browser?.close();
  if (run !== undefined && run.exitCode === null) {
    const exited = new Promise((r) => run.once("exit", r));
    run.kill("SIGTERM");
    const timer = setTimeout(() => run.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
  await demo?.stop();
});

test("the dashboard shows the service, calls an endpoint through the form, charts traffic and shows in-flight chains", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.setDefaultTimeout(10_000);
  await page.goto(url);

  // Services and nodes, live from the registry.
  await page.waitForSelector('#services li[data-service="demo"]');
  await page.waitForSelector("#live.ok");
  // The demo's subscriber shows as a topic, not as a service.
  await page.waitForSelector('#services li.topic[data-topic="demo.events"]');
  assert.match((await page.textContent("#nodes")) ?? "", new RegExp(demo.address.replace(/\./g, "\\.")));
  assert.match((await page.textContent("#endpoints")) ?? "", /Greeter\.hello\s*\{"name":"string"\}/);

  // A call through the form: the answer and its latency appear.
  await page.selectOption("#endpoint", "Greeter.hello");
  assert.equal(
    JSON.parse(await page.inputValue("#body")).name,
    "",
    "the form is prefilled from the request shape",
  );
  await page.fill("#body", '{"name":"browser"}');
  await page.click("#call");
  await page.waitForSelector('#result[data-status="200"]');
  assert.deepEqual(JSON.parse((await page.textContent("#result")) ?? ""), { message: "Hello browser" });
  assert.match(
    (await page.textContent("#latency")) ?? "",
    /^\d+\.\d ms in the browser, \d+(\.\d+)? ms at the gateway$/,
  );
  assert.equal(await page.textContent("#result-status"), "200 OK");

  // An error through the form shows its status and the MicroError.
  await page.selectOption("#endpoint", "Greeter.fail");
  await page.fill("#body", '{"why":"shown"}');
  await page.click("#call");
  await page.waitForSelector('#result[data-status="409"]');
  assert.match((await page.textContent("#result")) ?? "", /demo failure asked for: shown/);

  // Traffic: per-endpoint charts appear for what went through the gateway.
  await page.waitForSelector('.chart[data-endpoint="demo.Greeter.hello"] canvas');
  await page.waitForFunction(() =>
    /1 calls, 0 errors/.test(
      document.querySelector('.chart[data-endpoint="demo.Greeter.hello"] .totals')?.textContent ?? "",
    ),
  );
  await page.waitForFunction(() =>
    /1 calls, 1 errors \(100%\)/.test(
      document.querySelector('.chart[data-endpoint="demo.Greeter.fail"] .totals')?.textContent ?? "",
    ),
  );

  // In flight: a nested call (Greeter.chain → Greeter.slow) shows with its chain.
  const slow = fetch(`${url}api/demo/Greeter.chain`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"ms":4000}',
    signal: AbortSignal.timeout(15_000),
  });
  await page.waitForFunction(() =>
    /demo\.Greeter\.chain@demo-/.test(document.querySelector("#inflight")?.textContent ?? ""),
  );
  assert.match((await page.textContent("#inflight")) ?? "", /demo\.Greeter\.slow/);
  await page.selectOption("#endpoint", "Greeter.hello");
  await page.fill("#body", '{"name":"browser"}');
  await page.click("#call");
  await page.waitForFunction(() =>
    /Hello browser/.test(document.querySelector("#result")?.textContent ?? ""),
  );

  // A little steady traffic so the charts show lines, not single points.
  for (let i = 0; i < 8; i++) {
    const r = await fetch(`${url}api/demo/Greeter.hello`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"name":"n${i}"}`,
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(r.status, 200);
    await new Promise((res) => setTimeout(res, 150));
  }
  await page.waitForFunction(() =>
    /^10 calls/.test(
      document.querySelector('.chart[data-endpoint="demo.Greeter.hello"] .totals')?.textContent ?? "",
    ),
  );
  assert.doesNotMatch((await page.textContent("#inflight")) ?? "", /no answer/, "every RPC node answered");

  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = new URL("dashboard.png", ARTIFACTS).pathname;
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(existsSync(shot));
  assert.deepEqual(errors, [], "no script errors on the page");
  assert.equal((await slow).status, 200);

  // The metrics endpoint of `tsmicro run` has the calls it made.
  const metrics = await (await fetch(`${url}metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const hello = /^tsmicro_client_calls_total\{service="demo",endpoint="Greeter\.hello"\} (\d+)$/m.exec(
    metrics,
  );
  assert.ok(
    hello !== null && Number(hello[1]) === 10,
    `metrics show the ten Greeter.hello calls:\n${metrics}`,
  );
  assert.match(
    metrics,
    /^tsmicro_client_errors_total\{service="demo",endpoint="Greeter\.fail",code="409"\} 1$/m,
  );
  assert.match(metrics, /^tsmicro_client_pool_connections\{client="gateway"\} [1-9]/m);
  await page.close();
});

test("tsmicro run stops cleanly on SIGTERM", async () => {
  const exited = new Promise<number | null>((r) => run.once("exit", (code) => r(code)));
  run.kill("SIGTERM");
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 5000))]);
  assert.equal(code, 0, "exit code 0 within 5 s");
});
