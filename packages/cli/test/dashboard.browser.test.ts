/**
 * `tsmicro gateway` end to end in a real browser (Debian's chromium through playwright-core):
 * the dashboard lists the demo service, calls an endpoint through its form and shows the
 * answer, charts the traffic and shows an in-flight chain. The screenshot goes to
 * artifacts/dashboard.png. Chromium comes from `bash scripts/services.sh` (run by `npm test`).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { createAuth, generateKeys, SCOPE_ACCOUNT } from "@tsmicro/auth";
import { createGateway } from "@tsmicro/gateway";
import { type Browser, chromium } from "playwright-core";
import { registryFromEnv } from "tsmicro/plugin";
import { BIN, type Demo, jsonLine, startDemo } from "./helpers.js";

/** The page's globals, inside the functions playwright runs in the browser. */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

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
  run = spawn(process.execPath, [BIN, "gateway", "--address", "127.0.0.1:0", "--json"], {
    env: demo.env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  url = (await jsonLine<{ url: string }>(run, "url", 15_000, "tsmicro gateway to print its url")).url;
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
  assert.equal(await page.isVisible("#token-form"), false, "no token asked for when the gateway has no auth");
  // The demo's subscriber shows as a topic, not as a service.
  await page.waitForSelector('#services li.topic[data-topic="demo.events"]');
  assert.match((await page.textContent("#nodes")) ?? "", new RegExp(demo.address.replace(/\./g, "\\.")));
  const endpoints = (await page.textContent("#endpoints")) ?? "";
  assert.match(endpoints, /Greeter\.hello\s*\{"name":"string"\}/);
  // Endpoints without a published schema (typed in code, or not at all) say so, and streams say their kind.
  assert.match(endpoints, /Chat\.echo\s*bidi stream: any JSON → any JSON \(no schema published\)/);
  assert.match(endpoints, /Greeter\.chain\s*any JSON → any JSON/);
  assert.doesNotMatch(endpoints, /[—–]/, "no bare dashes for endpoints without a described shape");

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

  // A multi-second call: the latency axis switches to seconds and is wide enough for its labels.
  const long = await fetch(`${url}api/demo/Greeter.slow`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"ms":2100}',
    signal: AbortSignal.timeout(15_000),
  });
  assert.equal(long.status, 200);
  const latencyAxis = '.chart[data-endpoint="demo.Greeter.slow"] > div:last-child .uplot';
  await page.waitForSelector(`${latencyAxis}[data-axis1-size]`);
  await page.waitForFunction(
    () =>
      (document.querySelector('.chart[data-endpoint="demo.Greeter.slow"] > div:last-child') as any)?.dataset
        .yLabels,
  );
  const axis = await page.evaluate(() => {
    const card = document.querySelector('.chart[data-endpoint="demo.Greeter.slow"] > div:last-child') as any;
    const plot = card.querySelector(".uplot");
    return {
      labels: JSON.parse(card.dataset.yLabels) as string[],
      label: Number(plot.dataset.axis1Label),
      size: Number(plot.dataset.axis1Size),
    };
  });
  assert.ok(axis.labels.length > 0, "the latency axis has labels");
  for (const l of axis.labels)
    assert.match(l, /^\d+(\.\d+)? s$/, `a label in seconds, whole: ${axis.labels}`);
  assert.ok(
    axis.labels.some((l) => Number.parseFloat(l) >= 2),
    `the axis reaches 2 s: ${axis.labels}`,
  );
  assert.ok(
    axis.label > 0 && axis.size >= axis.label,
    `the axis (${axis.size} px) fits its widest label (${axis.label} px)`,
  );

  // In flight: 20 two-hop chains (Greeter.chain → Greeter.slow) show as one tree, folded ×20.
  const chains = Array.from({ length: 20 }, () =>
    fetch(`${url}api/demo/Greeter.chain`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"ms":4000}',
      signal: AbortSignal.timeout(15_000),
    }).catch((err: Error) => err),
  );
  await page.waitForFunction(() =>
    /^20 chains, 40 calls$/.test(document.querySelector("#inflight-summary")?.textContent ?? ""),
  );
  // Every chain has the same shape (once each nested call has reached the server), so they fold into one.
  await page.waitForFunction(
    () =>
      document.querySelector('#inflight li.chain-node > div[data-call="demo.Greeter.chain"] .count')
        ?.textContent === "×20",
  );
  assert.ok(
    await page.$('#inflight li.chain-node li.chain-node > div[data-call="demo.Greeter.slow"]'),
    "Greeter.slow sits under Greeter.chain in the tree",
  );
  assert.equal(
    await page.textContent(
      '#inflight li.chain-node li.chain-node > div[data-call="demo.Greeter.slow"] .count',
    ),
    "×20",
  );
  const rows = await page.evaluate(() => document.querySelectorAll("#inflight .call").length);
  assert.equal(rows, 2, "20 two-hop chains are 2 lines (the old flat table had 60 rows)");
  const height = await page.evaluate(
    () => (document.querySelector("#inflight-panel") as unknown as { offsetHeight: number }).offsetHeight,
  );
  assert.ok(height < 200, `the in-flight panel is ${height} px tall with 20 chains (60 table rows before)`);
  await page.selectOption("#endpoint", "Greeter.hello");
  await page.fill("#body", '{"name":"browser"}');
  await page.click("#call");
  await page.waitForFunction(() =>
    /Hello browser/.test(document.querySelector("#result")?.textContent ?? ""),
  );
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: new URL("dashboard-chains.png", ARTIFACTS).pathname, fullPage: true });

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

  const shot = new URL("dashboard.png", ARTIFACTS).pathname;
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(existsSync(shot));
  assert.deepEqual(errors, [], "no script errors on the page");
  for (const r of await Promise.all(chains)) assert.equal(r instanceof Response ? r.status : String(r), 200);
  // The demo's client has the breaker on: the node its chains called shows, closed.
  await page.waitForSelector(
    `#breakers li.breaker[data-service="demo"][data-node="${demo.node}"][data-state="closed"]`,
  );
  assert.match((await page.textContent("#breakers")) ?? "", /demo \S+ closed 0\/\d+ failed in the window/);

  // The metrics endpoint of `tsmicro gateway` has the calls it made.
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

test("with @tsmicro/auth on the gateway, the dashboard asks for a token, then shows the data and calls with it", async () => {
  const keys = await generateKeys();
  const auth = createAuth({ ...keys });
  // The demo's registry: local, in the demo's directory.
  const registry = registryFromEnv({ kind: "local", address: demo.dir });
  const gateway = createGateway({
    address: "127.0.0.1:0",
    registry,
    auth: {
      auth,
      rules: [
        { id: "accounts", resource: { service: "*", endpoint: "*" }, scope: SCOPE_ACCOUNT, access: "allow" },
      ],
    },
  });
  const base = `http://${await gateway.listen()}/`;
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.setDefaultTimeout(10_000);
  try {
    const anonymous = await fetch(`${base}_/services`, { signal: AbortSignal.timeout(5000) });
    assert.equal(anonymous.status, 401, "the dashboard's data needs a token");
    await anonymous.text();
    await page.goto(base);
    await page.waitForSelector("#token-form:not([hidden])");
    assert.equal(await page.textContent("#live"), "needs a token");
    assert.equal(await page.$('#services li[data-service="demo"]'), null, "no data before a token");
    // A token without the dashboard scope is refused (403), and the page asks again.
    const user = (await auth.generate({ id: "ada", scopes: [], metadata: {} })).accessToken;
    await page.fill("#token", user);
    await page.click("#token-form button");
    await page.waitForFunction(() =>
      /lacks the dashboard scope/.test(document.querySelector("#token-why")?.textContent ?? ""),
    );
    const admin = (await auth.generate({ id: "ops", scopes: ["admin"], metadata: {} })).accessToken;
    await page.fill("#token", admin);
    await page.click("#token-form button");
    await page.waitForSelector("#live.ok");
    await page.waitForSelector('#services li[data-service="demo"]');
    // The call form sends the token too: the rules let an account call.
    await page.selectOption("#endpoint", "Greeter.hello");
    await page.fill("#body", '{"name":"with token"}');
    await page.click("#call");
    await page.waitForSelector('#result[data-status="200"]');
    assert.deepEqual(JSON.parse((await page.textContent("#result")) ?? ""), { message: "Hello with token" });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL("dashboard-auth.png", ARTIFACTS).pathname, fullPage: true });
    assert.deepEqual(errors, [], "no script errors on the page");
  } finally {
    await page.close();
    await gateway.close();
    await registry.close();
  }
});

test("tsmicro gateway stops cleanly on SIGTERM", async () => {
  const exited = new Promise<number | null>((r) => run.once("exit", (code) => r(code)));
  run.kill("SIGTERM");
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 5000))]);
  assert.equal(code, 0, "exit code 0 within 5 s");
});
