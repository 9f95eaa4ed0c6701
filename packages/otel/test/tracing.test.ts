/**
 * A three-hop chain (test → A → B → C), each hop its own process with its own in-memory
 * exporter: one trace, each server span the child of its caller's client span.
 */
import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { createTracing } from "@tsmicro/otel";
import { background, MicroError, newClient, newRequest, withTimeout } from "tsmicro";
import { createLocalRegistry } from "tsmicro/plugin";

interface SpanRecord {
  process: string;
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  status: SpanStatusCode;
}

const dir = mkdtempSync(join(tmpdir(), "tsmicro-otel-"));
const registry = createLocalRegistry({ dir });
const exporter = new InMemorySpanExporter();
const tracing = createTracing({
  tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
});
const client = newClient({ registry, wrappers: [tracing.client] });
const children = new Map<string, ChildProcess>();

/** The next IPC message of `child` that has `key`, within `ms`. */
function message<T>(child: ChildProcess, key: string, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    const onMessage = (m: Record<string, unknown>) => {
      if (!(key in m)) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(m[key] as T);
    };
    child.on("message", onMessage);
    child.once("exit", (code) => reject(new Error(`${what}: the process exited with ${code}`)));
  });
}

async function start(name: string, next?: string): Promise<void> {
  const child = fork(new URL("./fixtures/node.mjs", import.meta.url), next ? [name, next] : [name], {
    env: { ...process.env, MICRO_REGISTRY: "local", MICRO_REGISTRY_ADDRESS: dir },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: [], // not the test runner's flags: the fixture is plain JavaScript
  });
  children.set(name, child);
  await message(child, "ready", 15_000, `process ${name} to start`);
}

async function spansOf(name: string): Promise<SpanRecord[]> {
  const child = children.get(name)!;
  const reply = message<SpanRecord[]>(child, "spans", 5000, `the spans of process ${name}`);
  child.send("spans");
  return reply;
}

before(async () => {
  await Promise.all([start("trace-c"), start("trace-b", "trace-c"), start("trace-a", "trace-b")]);
});

after(async () => {
  await client.close();
  await registry.close();
  for (const child of children.values()) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.send("stop");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    child.kill();
  }
  rmSync(dir, { recursive: true, force: true });
});

test("A → B → C across three processes is one trace: each server span is the child of its caller's client span", async () => {
  exporter.reset();
  const result = await client.call<{ hops: { hop: string; traceparent: string }[] }>(
    withTimeout(background(), 10_000),
    newRequest("trace-a", "Chain.run", {}),
  );
  assert.deepEqual(
    result.hops.map((h) => h.hop),
    ["trace-a", "trace-b", "trace-c"],
  );

  const root = exporter.getFinishedSpans();
  assert.equal(root.length, 1, "the test process records one client span");
  const rootSpan = root[0]!;
  assert.equal(rootSpan.kind, SpanKind.CLIENT);
  assert.equal(rootSpan.parentSpanContext, undefined, "the first call starts the trace");
  const traceId = rootSpan.spanContext().traceId;

  const [a, b, c] = await Promise.all([spansOf("trace-a"), spansOf("trace-b"), spansOf("trace-c")]);
  const all = [...a!, ...b!, ...c!];
  assert.equal(
    all.length,
    5,
    `A and B record a server and a client span, C a server span: ${JSON.stringify(all)}`,
  );
  for (const s of all) assert.equal(s.traceId, traceId, `span ${s.name} in ${s.process} is in the one trace`);

  const server = (p: SpanRecord[]) => p.find((s) => s.kind === SpanKind.SERVER)!;
  const clientOf = (p: SpanRecord[]) => p.find((s) => s.kind === SpanKind.CLIENT)!;
  // The three server spans, linked hop by hop through the client spans.
  assert.equal(
    server(a!).parentSpanId,
    rootSpan.spanContext().spanId,
    "A's server span is a child of the test's call",
  );
  assert.equal(clientOf(a!).parentSpanId, server(a!).spanId, "A's call to B is a child of A's handling");
  assert.equal(server(b!).parentSpanId, clientOf(a!).spanId, "B's server span is a child of A's call");
  assert.equal(clientOf(b!).parentSpanId, server(b!).spanId, "B's call to C is a child of B's handling");
  assert.equal(server(c!).parentSpanId, clientOf(b!).spanId, "C's server span is a child of B's call");
  assert.equal(server(c!).name, "trace-c/Chain.run");

  // On the wire: each handler saw a traceparent naming its own server span (W3C format).
  for (const [hop, spans] of [
    ["trace-a", a!],
    ["trace-b", b!],
    ["trace-c", c!],
  ] as const) {
    const tp = result.hops.find((h) => h.hop === hop)!.traceparent;
    assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.equal(tp, `00-${traceId}-${server(spans).spanId}-01`);
  }
});

test("a second call is a second trace (the trace id is not constant)", async () => {
  exporter.reset();
  await client.call(withTimeout(background(), 10_000), newRequest("trace-a", "Chain.run", {}));
  await client.call(withTimeout(background(), 10_000), newRequest("trace-a", "Chain.run", {}));
  const [first, second] = exporter.getFinishedSpans();
  assert.notEqual(first!.spanContext().traceId, second!.spanContext().traceId);
});

test("a failed call's span has ERROR status and the MicroError code", async () => {
  exporter.reset();
  await assert.rejects(
    client.call(withTimeout(background(), 10_000), newRequest("trace-a", "Chain.nope", {})),
    (err: unknown) => err instanceof MicroError && err.code === 404,
  );
  const [span] = exporter.getFinishedSpans();
  assert.equal(span!.status.code, SpanStatusCode.ERROR);
  assert.equal(span!.attributes["tsmicro.error.code"], 404);
  assert.match(span!.status.message ?? "", /404 Not Found/);
});
