/** Every `tsmicro` command, run as a real process against a real demo service: output and exit codes. */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { BIN, type Demo, startDemo, tsmicro } from "./helpers.js";

let demo: Demo;
before(async () => {
  demo = await startDemo("demo");
});
after(() => demo.stop());

/** A one-line reason on stderr, prefixed with "tsmicro:". */
function oneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got: ${stderr}`);
  assert.match(lines[0]!, /^tsmicro: /);
  assert.match(lines[0]!, pattern);
}

describe("services", () => {
  test("a table of services, versions, nodes and endpoints", async () => {
    const r = await tsmicro(["services"], demo.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^SERVICE\s+VERSION\s+NODES\s+ENDPOINTS$/m);
    assert.match(r.stdout, /^demo\s+1\.2\.3\s+1\s+\d+$/m);
    assert.equal(r.stderr, "", "no spinner or chatter when stderr is not a terminal");
  });
  test("--json for scripts; --registry-address chooses the registry like MICRO_REGISTRY_ADDRESS", async () => {
    const env = { ...demo.env, MICRO_REGISTRY_ADDRESS: "" };
    const r = await tsmicro(
      ["services", "--json", "--registry", "local", "--registry-address", demo.dir],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    const svc = list.find((s: { name: string }) => s.name === "demo");
    assert.equal(svc.nodes[0].address, demo.address);
  });
  test("another registry kind loads from @tsmicro/<kind> (README), and says to install it when missing", async () => {
    const r = await tsmicro(["services", "--registry", "bogus"], demo.env);
    assert.equal(r.code, 1);
    oneLine(
      r.stderr,
      /registry "bogus" needs the package @tsmicro\/bogus, which is not installed: run npm install @tsmicro\/bogus/,
    );
  });
});

describe("describe", () => {
  test("nodes, versions and endpoints with their request and response shapes", async () => {
    const r = await tsmicro(["describe", "demo"], demo.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^demo 1\.2\.3 {2}metadata \{"team":"demo"\}$/m);
    assert.ok(r.stdout.includes(demo.node) && r.stdout.includes(demo.address), r.stdout);
    assert.match(r.stdout, /^Greeter\.hello\s+\{"name":"string"\}\s+\{"message":"string"\}$/m);
    assert.match(r.stdout, /^Chat\.echo\s/m, "stream endpoints are listed too");
    const json = JSON.parse((await tsmicro(["describe", "demo", "--json"], demo.env)).stdout);
    assert.equal(json[0].nodes[0].id, demo.node);
  });
  test("an unknown service exits 1 with one line", async () => {
    const r = await tsmicro(["describe", "nosuch"], demo.env);
    assert.equal(r.code, 1);
    oneLine(r.stderr, /404 Not Found: service "nosuch" is not registered/);
  });
});

describe("call", () => {
  test("prints the JSON answer", async () => {
    const r = await tsmicro(["call", "demo", "Greeter.hello", '{"name":"cli"}'], demo.env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { message: "Hello cli" });
  });
  test("--metadata and --timeout reach the handler; --address calls that node directly", async () => {
    const r = await tsmicro(
      [
        "call",
        "demo",
        "Greeter.metadata",
        "{}",
        "-m",
        "x-user=ada",
        "--metadata",
        "x-trace=1",
        "--timeout",
        "3s",
        "--address",
        demo.address,
        "--json",
      ],
      { ...demo.env, MICRO_REGISTRY_ADDRESS: "/nonexistent-registry-dir" },
    );
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    assert.equal(body.metadata["x-user"], "ada");
    assert.equal(body.metadata["x-trace"], "1");
    assert.ok(
      body.deadlineInMs > 0 && body.deadlineInMs <= 3000,
      `deadline from --timeout: ${body.deadlineInMs}`,
    );
  });
  test("a MicroError exits 1 with one line naming code, detail and chain; --json also prints it", async () => {
    const r = await tsmicro(["call", "demo", "Greeter.fail", '{"why":"testing"}'], demo.env);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    oneLine(
      r.stderr,
      /call failed: 409 Conflict: demo failure asked for: testing \[chain: demo\.Greeter\.fail@demo-/,
    );
    const j = await tsmicro(["call", "demo", "Greeter.fail", "{}", "--json"], demo.env);
    assert.equal(j.code, 1);
    assert.equal(JSON.parse(j.stdout).error.code, 409);
  });
  test("--timeout bounds the call", async () => {
    const started = Date.now();
    const r = await tsmicro(["call", "demo", "Greeter.slow", '{"ms":5000}', "-t", "300ms"], demo.env);
    assert.equal(r.code, 1);
    oneLine(r.stderr, /408 Request Timeout/);
    assert.ok(Date.now() - started < 4500, "did not wait for the handler");
  });
  test("usage errors exit 2: bad JSON, missing arguments, unknown command or flag, bad duration", async () => {
    for (const [args, pattern] of [
      [["call", "demo", "Greeter.hello", "{bad"], /the request body is not valid JSON/],
      [["call", "demo"], /usage: tsmicro call <service> <endpoint>/],
      [["frobnicate"], /unknown command "frobnicate"/],
      [["services", "--colour"], /Unknown option '--colour'/],
      [["call", "demo", "Greeter.hello", "-t", "soon"], /--timeout must be a positive duration/],
      [["call", "demo", "Greeter.hello", "-m", "novalue"], /--metadata takes key=value/],
    ] as const) {
      const r = await tsmicro(args, demo.env);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      oneLine(r.stderr, pattern);
    }
    const help = await tsmicro(["--help"], demo.env);
    assert.equal(help.code, 0);
    for (const c of [
      "services",
      "describe",
      "call",
      "stream",
      "publish",
      "subscribe",
      "watch",
      "health",
      "inflight",
      "gateway",
      "completion",
    ]) {
      assert.match(help.stdout, new RegExp(`^ {2}${c}`, "m"));
    }
  });
});

describe("health", () => {
  test("every node answers Debug.Health: a table, exit 0", async () => {
    const r = await tsmicro(["health", "demo"], demo.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NODE\s+ADDRESS\s+STATUS\s+UPTIME\s+INFLIGHT/m);
    assert.match(r.stdout, new RegExp(`^${demo.node}\\s+${demo.address}\\s+ok\\s`, "m"));
    const j = JSON.parse((await tsmicro(["health", "demo", "--json"], demo.env)).stdout);
    assert.equal(j.healthy, true);
    assert.equal(j.nodes[0].result.status, "ok");
  });
  test("a node that does not answer is unhealthy: exit 1", async () => {
    const r = await tsmicro(["health", "demo", "--address", "127.0.0.1:1", "-t", "1s"], demo.env);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /unreachable/);
    oneLine(r.stderr, /1 of 1 node\(s\) not healthy/);
  });
  test("an unknown service exits 1", async () => {
    const r = await tsmicro(["health", "nosuch"], demo.env);
    assert.equal(r.code, 1);
    oneLine(r.stderr, /has no nodes/);
  });
});

describe("inflight", () => {
  test("shows calls in flight with phase, age and chain", async () => {
    // A call that nests another one and stays 2 s, made by a separate CLI process.
    const slow = tsmicro(["call", "demo", "Greeter.chain", '{"ms":2000}'], demo.env);
    let seen = "";
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      const r = await tsmicro(["inflight", "demo"], demo.env);
      assert.equal(r.code, 0, r.stderr);
      seen = r.stdout;
      // The nested call shows up on the server before its client side leaves `selecting`:
      // wait until both sides are where the assertions look (the call lasts 2 s).
      if (
        /server\s+demo\.Greeter\.slow\s+handling/.test(seen) &&
        /client\s+demo\.Greeter\.slow\s+sent\s/.test(seen)
      )
        break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.match(seen, /^NODE\s+SIDE\s+CALL\s+PHASE\s+AGE\s+IN PHASE\s+DEADLINE\s+CHAIN$/m);
    assert.match(seen, /server\s+demo\.Greeter\.chain\s+handling\s+\S+\s+\S+\s+in \S+\s+\(from outside\)/);
    assert.match(seen, /server\s+demo\.Greeter\.slow\s+handling\s+.*demo\.Greeter\.chain@demo-/);
    assert.match(seen, /client\s+demo\.Greeter\.slow\s+sent\s/);
    assert.doesNotMatch(seen, /Debug\.Inflight/, "the question itself is not listed");
    assert.equal((await slow).code, 0);
    const quiet = await tsmicro(["inflight", "demo", "--json"], demo.env);
    assert.deepEqual(JSON.parse(quiet.stdout).calls, [], "nothing in flight once the call is done");
    // The demo's client has the breaker on: the node it called shows, closed.
    assert.deepEqual(
      JSON.parse(quiet.stdout).breakers.map((b: { service: string; node: string; state: string }) => [
        b.service,
        b.node,
        b.state,
      ]),
      [["demo", demo.node, "closed"]],
    );
    const table = (await tsmicro(["inflight", "demo"], demo.env)).stdout;
    assert.match(table, /^FROM\s+BREAKER TO\s+NODE\s+STATE\s+FAILED\s+PROBE$/m);
    assert.match(table, new RegExp(`^\\S+\\s+demo\\s+${demo.node}\\s+closed\\s+0/\\d+\\s+-$`, "m"));
  });
});

describe("publish", () => {
  test("publishes a JSON message that the service's subscriber receives", async () => {
    const r = await tsmicro(["publish", "demo.events", '{"n":42}', "-m", "x-from=cli"], demo.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^published to demo\.events$/m);
    let received: unknown[] = [];
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      received = JSON.parse((await tsmicro(["call", "demo", "Greeter.received"], demo.env)).stdout);
      if (received.length > 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual(received, [{ n: 42 }]);
  });
  test("bad JSON is a usage error", async () => {
    const r = await tsmicro(["publish", "demo.events", "nope"], demo.env);
    assert.equal(r.code, 2);
    oneLine(r.stderr, /the message is not valid JSON/);
  });
});

describe("stream", () => {
  test("sends each JSON argument and prints each response as a JSON line", async () => {
    const r = await tsmicro(["stream", "demo", "Chat.echo", '{"a":1}', '{"a":2}'], demo.env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
      [{ echo: { a: 1 } }, { echo: { a: 2 } }],
    );
  });
  test("reads messages from stdin, one JSON value per line", async () => {
    const out = execFileSync(process.execPath, [BIN, "stream", "demo", "Chat.echo"], {
      env: demo.env,
      input: '{"line":1}\n\n{"line":2}\n',
      timeout: 20_000,
    }).toString();
    assert.deepEqual(
      out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
      [{ echo: { line: 1 } }, { echo: { line: 2 } }],
    );
  });
  test("an unknown stream endpoint exits 1 with the server's reason", async () => {
    const r = await tsmicro(["stream", "demo", "Chat.nope", "{}"], demo.env);
    assert.equal(r.code, 1);
    oneLine(r.stderr, /404 Not Found: endpoint "Chat\.nope" not found/);
  });
});

describe("terminal", () => {
  test("a spinner is drawn on stderr only when it is a terminal", async (t) => {
    try {
      execFileSync("script", ["--version"], { stdio: "ignore" });
    } catch {
      t.skip("util-linux `script` (to get a pseudo-terminal) is not installed");
      return;
    }
    // `script` runs the command on a pseudo-terminal; the call takes 400 ms so frames are drawn.
    const cmd = `${process.execPath} ${BIN} call demo Greeter.slow '{"ms":400}'`;
    const child = spawn("script", ["-qec", cmd, "/dev/null"], {
      env: demo.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => child.kill(), 15_000);
      child.once("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, out);
    assert.match(out, /⠋ calling demo Greeter\.slow/);
    assert.match(out, /"slept": 400/);
  });
});
