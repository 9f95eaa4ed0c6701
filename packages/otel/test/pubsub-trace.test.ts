/**
 * One trace across call → handler → publish → subscriber → nested call, in three processes
 * (front, worker, leaf), each with its own in-memory exporter, every path traced by the one
 * `tracing.middleware`. Messages go over the default http broker, found through a local
 * registry in a directory of the test's own. A message published without the middleware starts
 * a new trace at the subscriber (the negative control: the link is the headers, nothing else).
 */
import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { SpanKind } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { createTracing } from "@tsmicro/otel";
import { background, newClient, newMessage, newRequest, withTimeout } from "tsmicro";
import { createLocalRegistry } from "tsmicro/plugin";
import { waitFor } from "tsmicro/testing";

interface SpanRecord {
  process: string;
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
}

interface Handled {
  n: number;
  seen?: string;
  leaf?: { traceparent: string };
  error?: string;
}

const topic = `otel.ps.${randomUUID()}`;
const dir = mkdtempSync(join(tmpdir(), "tsmicro-otel-ps-"));
const registry = createLocalRegistry({ dir });
const exporter = new InMemorySpanExporter();
const tracing = createTracing({
  tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
});
const client = newClient({ registry, middleware: [tracing.middleware] });
const children = new Map<string, ChildProcess>();

/** The next IPC message of `child` that has `key`, within `ms`; fails naming `what`. */
function message<T>(child: ChildProcess, key: string, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", onMessage);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const onMessage = (m: Record<string, unknown>) => {
      if (typeof m !== "object" || m === null || !(key in m)) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(m[key] as T);
    };
    child.on("message", onMessage);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what}: the process exited with ${code}`));
    });
  });
}

async function start(role: string): Promise<void> {
  const child = fork(new URL("./fixtures/pubsub-node.mjs", import.meta.url), [role, topic], {
    env: { ...process.env, MICRO_REGISTRY: "local", MICRO_REGISTRY_ADDRESS: dir, MICRO_BROKER: "" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: [],
  });
  children.set(role, child);
  await message(child, "ready", 15_000, `process ${role} to start`);
}

async function spansOf(role: string): Promise<SpanRecord[]> {
  const child = children.get(role)!;
  const reply = message<SpanRecord[]>(child, "spans", 5000, `the spans of process ${role}`);
  child.send("spans");
  return reply;
}

/** The spans of `role` once it has `count` of them (spans end after their work answers). */
function spansWhen(role: string, count: number): Promise<SpanRecord[]> {
  return waitFor(`${count} finished spans in process ${role}`, 10_000, async () => {
    const spans = await spansOf(role);
    return spans.length >= count ? spans : undefined;
  });
}

async function reset(): Promise<void> {
  exporter.reset();
  await Promise.all(
    [...children].map(([role, child]) => {
      const done = message(child, "reset", 5000, `process ${role} to reset its spans`);
      child.send("reset");
      return done;
    }),
  );
}

before(async () => {
  // The leaf and the worker (whose subscription the front's broker looks up) first.
  await Promise.all([start("leaf"), start("worker")]);
  await start("front");
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

test("call → handler → publish → subscriber → nested call is one trace across three processes, linked span by span", async () => {
  await reset();
  const handled = message<Handled>(
    children.get("worker")!,
    "handled",
    10_000,
    "the worker's subscriber to handle the message",
  );
  const answer = await client.call<{ traceparent: string }>(
    withTimeout(background(), 10_000),
    newRequest("otel-ps-front", "Front.run", { n: 1 }),
  );
  const h = await handled;
  assert.equal(h.error, undefined, `the subscriber's nested call failed: ${h.error}`);
  assert.equal(h.n, 1);

  const [root] = exporter.getFinishedSpans();
  assert.equal(exporter.getFinishedSpans().length, 1, "the test process records one client span");
  assert.equal(root!.kind, SpanKind.CLIENT);
  assert.equal(root!.parentSpanContext, undefined, "the call starts the trace");
  const traceId = root!.spanContext().traceId;

  const [front, worker, leaf] = await Promise.all([
    spansWhen("front", 2),
    spansWhen("worker", 2),
    spansWhen("leaf", 1),
  ]);
  const all = [...front, ...worker, ...leaf];
  assert.equal(
    all.length,
    5,
    `front: server + producer, worker: consumer + client, leaf: server; got ${JSON.stringify(all)}`,
  );
  for (const s of all)
    assert.equal(s.traceId, traceId, `${s.kind} span "${s.name}" in ${s.process} is in the one trace`);

  const one = (spans: SpanRecord[], kind: SpanKind) => {
    const found = spans.filter((s) => s.kind === kind);
    assert.equal(found.length, 1, `one span of kind ${kind} in ${JSON.stringify(spans)}`);
    return found[0]!;
  };
  const frontServer = one(front, SpanKind.SERVER);
  const producer = one(front, SpanKind.PRODUCER);
  const consumer = one(worker, SpanKind.CONSUMER);
  const nested = one(worker, SpanKind.CLIENT);
  const leafServer = one(leaf, SpanKind.SERVER);

  assert.equal(
    frontServer.parentSpanId,
    root!.spanContext().spanId,
    "the front's handling is a child of the test's call",
  );
  assert.equal(producer.parentSpanId, frontServer.spanId, "the publish is a child of the front's handling");
  assert.equal(
    consumer.parentSpanId,
    producer.spanId,
    "the subscriber's span is a child of the publish, across processes",
  );
  assert.equal(nested.parentSpanId, consumer.spanId, "the subscriber's nested call is a child of its span");
  assert.equal(leafServer.parentSpanId, nested.spanId, "the leaf's handling is a child of the nested call");

  assert.equal(producer.name, `send ${topic}`);
  assert.equal(consumer.name, `process ${topic}`);
  assert.equal(consumer.attributes["messaging.destination.name"], topic);
  assert.equal(consumer.attributes["tsmicro.attempt"], 1);
  assert.match(String(consumer.attributes["messaging.message.id"]), /^[0-9a-f-]{36}$/);
  // On the wire: what each receiver saw names the span that is its parent's context.
  assert.equal(answer.traceparent, `00-${traceId}-${frontServer.spanId}-01`);
  assert.equal(h.seen, `00-${traceId}-${consumer.spanId}-01`, "the subscriber's ctx carries its own span");
  assert.equal(h.leaf?.traceparent, `00-${traceId}-${leafServer.spanId}-01`);
});

test("negative control: a message published without the middleware starts a new trace at the subscriber", async () => {
  await reset();
  const plain = newClient({ registry });
  try {
    const handled = message<Handled>(
      children.get("worker")!,
      "handled",
      10_000,
      "the worker's subscriber to handle the message",
    );
    await plain.publish(withTimeout(background(), 10_000), newMessage(topic, { n: 2 }));
    const h = await handled;
    assert.equal(h.n, 2);
    const worker = await spansWhen("worker", 2);
    const consumer = worker.find((s) => s.kind === SpanKind.CONSUMER)!;
    assert.equal(
      consumer.parentSpanId,
      undefined,
      "no traceparent in the headers: the consumer span is a root",
    );
    const leaf = await spansWhen("leaf", 1);
    assert.equal(
      leaf[0]!.traceId,
      consumer.traceId,
      "the nested call still continues the subscriber's trace",
    );
  } finally {
    await plain.close();
  }
});
