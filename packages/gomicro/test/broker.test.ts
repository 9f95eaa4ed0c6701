/**
 * Pub/sub across both stacks on go-micro's NATS broker format (the go-micro nats broker
 * plugin), on the shared NATS at 127.0.0.1:4222 with unique topics.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { background, createMemoryRegistry, newClient, newMessage, newService, withMetadata } from "tsmicro";
import { waitFor } from "tsmicro/testing";
import { createGoMicroNatsBroker } from "../src/index.js";
import { buildGoPrograms, startGo } from "../src/testing/index.js";
import { goCall, uniqueName } from "./harness/fleet.js";

const build = await buildGoPrograms();
const NATS = process.env.TSMICRO_TEST_NATS ?? "127.0.0.1:4222";
const flags = ["-broker", "nats", "-broker_address", NATS];

test("tsmicro publishes, a go-micro subscriber receives payload and headers", {
  timeout: 60_000,
}, async () => {
  const topic = uniqueName("gomicro.events");
  const broker = createGoMicroNatsBroker({ servers: NATS });
  const client = newClient({ broker, registry: createMemoryRegistry() });
  const greeter = startGo(build, "greeter", [...flags, "-name", uniqueName("go-sub"), "-topic", topic]);
  try {
    await greeter.json("the go-micro subscriber to start", 20_000, (v) => "listening" in v);
    type Got = { event: { from: string; n: number }; metadata: Record<string, string> };
    // Core NATS keeps no copy: publish until the subscription, made as go-micro starts, is live.
    let n = 0;
    const got = await waitFor("a go-micro subscriber to print a tsmicro event", 10_000, async () => {
      await client.publish(
        withMetadata(background(), { "x-tenant": "acme" }),
        newMessage(topic, { from: "tsmicro", n: ++n }),
      );
      const line = greeter
        .stdout()
        .split("\n")
        .find((l) => l.startsWith('{"event"'));
      return line ? (JSON.parse(line) as Got) : undefined;
    });
    assert.equal(got.event.from, "tsmicro");
    assert.ok(got.event.n >= 1);
    assert.equal(got.metadata["Micro-Topic"], topic);
    assert.equal(got.metadata["Content-Type"], "application/json");
    assert.ok(got.metadata["Micro-Id"], "Micro-Id is set");
    assert.equal(got.metadata["X-Tenant"], "acme");
  } finally {
    await greeter.kill();
    await client.close();
    await broker.disconnect();
  }
});

test("go-micro publishes, a tsmicro subscriber receives payload and headers", {
  timeout: 60_000,
}, async () => {
  const topic = uniqueName("gomicro.events");
  const broker = createGoMicroNatsBroker({ servers: NATS });
  const service = newService({ name: uniqueName("ts-sub"), broker, registry: createMemoryRegistry() });
  const got: { payload: { from: string; name: string; n: number }; metadata: Record<string, string> }[] = [];
  service.subscribe(topic, async (ctx, payload: { from: string; name: string; n: number }) => {
    got.push({ payload, metadata: { ...ctx.metadata } });
  });
  await service.start();
  try {
    const r = await goCall(build, [...flags, "-case", "publish", "-topic", topic, "-name", "Gopher"]);
    assert.equal(r.ok, true, r.raw);
    const [first] = await waitFor("the tsmicro subscriber to get go-micro's event", 10_000, async () =>
      got.length > 0 ? got : undefined,
    );
    assert.deepEqual(first!.payload, { from: "go-micro", name: "Gopher", n: 0 });
    assert.equal(first!.metadata["micro-topic"], topic);
    assert.equal(first!.metadata["content-type"], "application/json");
  } finally {
    await service.stop();
    await broker.disconnect();
  }
});
