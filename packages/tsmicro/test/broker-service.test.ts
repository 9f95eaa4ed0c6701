import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { HEADER } from "../src/broker/broker.js";
import { createMemoryBroker } from "../src/broker/memory.js";
import { newClient } from "../src/client/client.js";
import { newMessage } from "../src/client/publish.js";
import { background, type Context, withMetadata, withTimeout } from "../src/context.js";
import { MicroError } from "../src/errors.js";
import { createLocalRegistry } from "../src/registry/local.js";
import { type MicroService, newService } from "../src/service/service.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-pubsub-"));
const started: MicroService[] = [];
after(async () => {
  await Promise.all(started.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function until(done: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Each "process" gets its own registry handle on one directory: the zero-infrastructure default.
const registry = () => createLocalRegistry({ dir, pollMs: 100 });

describe("client.publish and service.subscribe on the default (http) broker", () => {
  it("decodes with the message's codec and hands the handler the publisher's metadata", async () => {
    const got: { payload: unknown; md: Record<string, string> }[] = [];
    const svc = newService({ name: "listener", registry: registry() }).subscribe<{ n: number }>(
      "orders.created",
      (ctx: Context, payload) => {
        got.push({ payload, md: { ...ctx.metadata } });
      },
    );
    await svc.start();
    started.push(svc);
    assert.match(svc.broker.name, /^http /, "the default broker is the embedded http one");
    const client = newClient({ registry: registry() });
    const ctx = withMetadata(background(), { "X-User": "ann" });
    await client.publish(ctx, newMessage("orders.created", { n: 1 }));
    await client.publish(
      ctx,
      newMessage("orders.created", { n: 2 }, { contentType: "application/msgpack" }),
      {
        metadata: { attempt: "second" },
      },
    );
    await until(() => got.length === 2, 5000, "both messages at the subscriber");
    assert.deepEqual(
      got.map((g) => g.payload),
      [{ n: 1 }, { n: 2 }],
    );
    assert.equal(got[0]!.md["x-user"], "ann");
    assert.equal(got[0]!.md[HEADER.contentType], "application/json");
    assert.equal(got[0]!.md[HEADER.topic], "orders.created");
    assert.ok(got[0]!.md[HEADER.id]!.length > 0, "a message id");
    assert.equal(got[1]!.md[HEADER.contentType], "application/msgpack");
    assert.equal(got[1]!.md.attempt, "second");
    assert.notEqual(got[0]!.md[HEADER.id], got[1]!.md[HEADER.id]);
    await client.close();
  });

  it("a queue group shares messages among a service's instances", async () => {
    const seen = new Map<string, string[]>();
    const make = (instance: string) =>
      newService({ name: "worker", registry: registry() }).subscribe<{ id: string }>(
        "jobs",
        (_ctx, p) => {
          seen.set(p.id, [...(seen.get(p.id) ?? []), instance]);
        },
        { queue: "worker" },
      );
    const a = make("a");
    const b = make("b");
    await a.start();
    await b.start();
    started.push(a, b);
    const client = newClient({ registry: registry() });
    for (let i = 0; i < 30; i++) await client.publish(background(), newMessage("jobs", { id: `j${i}` }));
    await until(() => seen.size === 30, 5000, "30 jobs handled");
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      [...seen.values()].every((who) => who.length === 1),
      "each job handled by one instance only",
    );
    const counts = { a: 0, b: 0 };
    for (const [who] of seen.values()) counts[who as "a" | "b"]++;
    assert.ok(counts.a > 0 && counts.b > 0, `both instances took jobs: ${JSON.stringify(counts)}`);
    await client.close();
  });

  it("an undecodable message goes to the dead-letter topic at once, with the reason", async () => {
    const broker = createMemoryBroker();
    let calls = 0;
    const dead: { reason: string; body: string }[] = [];
    const svc = newService({ name: "strict", registry: registry(), broker }).subscribe("prices", () => {
      calls++;
    });
    await svc.start();
    // The raw broker: dead letters keep the original (undecodable) bytes.
    await broker.subscribe("prices.dlq", (e) => {
      dead.push({
        reason: e.message.headers[HEADER.deadLetterReason]!,
        body: Buffer.from(e.message.body).toString(),
      });
    });
    started.push(svc);
    await broker.publish("prices", {
      headers: { [HEADER.contentType]: "application/json" },
      body: Buffer.from("{oops"),
    });
    await broker.publish("prices", {
      headers: { [HEADER.contentType]: "text/x-unknown" },
      body: Buffer.from("hi"),
    });
    await until(() => dead.length === 2, 5000, "two dead letters");
    assert.equal(calls, 0, "the handler never saw undecodable input");
    assert.match(dead[0]!.reason, /cannot decode a message on "prices" as application\/json/);
    assert.match(dead[1]!.reason, /unsupported content type "text\/x-unknown"/);
    assert.equal(dead[1]!.body, "hi", "the original body is kept");
  });

  it("stop() unsubscribes after the running handler finishes; subscribe after start() is refused", async () => {
    const broker = createMemoryBroker();
    let finished = 0;
    let handled = 0;
    const svc = newService({ name: "stopper", registry: registry(), broker }).subscribe("slow", async () => {
      handled++;
      await new Promise((r) => setTimeout(r, 200));
      finished++;
    });
    await svc.start();
    assert.throws(() => svc.subscribe("late", () => {}), /subscribe to "late" before start\(\)/);
    await broker.publish("slow", { headers: {}, body: Buffer.from("{}") });
    await until(() => handled === 1, 5000, "the handler to start");
    await svc.stop();
    assert.equal(finished, 1, "stop waited for the running handler");
    await broker.publish("slow", { headers: {}, body: Buffer.from("{}") });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(handled, 1, "no delivery after stop");
    // A broker given to the service is the caller's: still usable after the service stops.
    await broker.publish("slow", { headers: {}, body: Buffer.from("{}") });
  });

  it("publish honours the caller's deadline and fails clearly when the broker is gone", async () => {
    const broker = createMemoryBroker();
    const client = newClient({ registry: registry(), broker });
    const expired = withTimeout(background(), 0);
    await assert.rejects(client.publish(expired, newMessage("t", {})), (e: unknown) => {
      assert.ok(e instanceof MicroError);
      assert.equal(e.code, 408);
      return true;
    });
    await broker.disconnect();
    await assert.rejects(client.publish(background(), newMessage("t", {})), (e: unknown) => {
      assert.ok(e instanceof MicroError && e.code === 503 && /memory is not connected/.test(e.detail));
      return true;
    });
  });
});
