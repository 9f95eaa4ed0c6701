/**
 * go-micro's http broker (its default broker): subscriptions registered as nodes of
 * `micro.http.broker` in the shared registry, messages POSTed as go-micro's broker.Message
 * JSON. Both directions against go-micro v4.10.2 processes, through etcd and through the
 * NATS registry, and the core broker conformance suite on createGoMicroHttpBroker.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { startEtcd } from "@tsmicro/etcd/testing";
import {
  background,
  MicroError,
  newClient,
  newMessage,
  newService,
  type Registry,
  withMetadata,
} from "tsmicro";
import { brokerConformance, waitFor } from "tsmicro/testing";
import {
  createGoMicroEtcdRegistry,
  createGoMicroHttpBroker,
  createGoMicroNatsRegistry,
  GO_MICRO_HTTP_BROADCAST_VERSION,
  GO_MICRO_HTTP_BROKER_SERVICE,
} from "../src/index.js";
import { buildGoPrograms, startGo } from "../src/testing/index.js";
import { uniqueName } from "./harness/fleet.js";

const build = await buildGoPrograms();
const etcd = await startEtcd({ private: true });
after(() => etcd.stop());
const NATS = process.env.TSMICRO_TEST_NATS ?? "127.0.0.1:4222";

const registries: { name: string; flags: string[]; create: () => Registry }[] = [
  {
    name: "etcd",
    flags: ["-registry", "etcd", "-registry_address", etcd.endpoint],
    create: () => createGoMicroEtcdRegistry({ endpoints: etcd.endpoint }),
  },
  {
    name: "NATS registry",
    flags: ["-registry", "nats", "-registry_address", NATS],
    create: () => createGoMicroNatsRegistry({ servers: NATS, queryTimeoutMs: 500 }),
  },
];

for (const r of registries) {
  describe(`go-micro http broker through ${r.name}`, () => {
    const flags = [...r.flags, "-broker", "http"];

    test("tsmicro publishes, a go-micro http-broker subscriber receives payload and headers", {
      timeout: 60_000,
    }, async () => {
      const topic = uniqueName("gomicro.http");
      const registry = r.create();
      const broker = createGoMicroHttpBroker({ registry });
      const client = newClient({ broker, registry });
      const greeter = startGo(build, "greeter", [...flags, "-name", uniqueName("go-sub"), "-topic", topic]);
      try {
        await greeter.json("the go-micro subscriber to start", 20_000, (v) => "listening" in v);
        // go-micro's own record of the subscription, read through tsmicro's registry.
        const services = await waitFor("go-micro's subscription in the registry", 10_000, async () => {
          const s = await registry.getService(GO_MICRO_HTTP_BROKER_SERVICE);
          return s.some((x) => x.nodes.some((n) => n.metadata.topic === topic)) ? s : undefined;
        });
        const svc = services.find((x) => x.nodes.some((n) => n.metadata.topic === topic))!;
        const node = svc.nodes.find((n) => n.metadata.topic === topic)!;
        assert.equal(svc.version, GO_MICRO_HTTP_BROADCAST_VERSION);
        assert.equal(node.metadata.broker, "http");
        assert.equal(node.metadata.secure, "false");
        assert.match(node.id.slice(topic.length), /^-[0-9a-f-]{36}$/, node.id);

        type Got = { event: { from: string; n: number }; metadata: Record<string, string> };
        let n = 0;
        const got = await waitFor("the go-micro subscriber to print a tsmicro event", 10_000, async () => {
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
        // The subscriber was registered before the first publish: the first message arrives.
        assert.deepEqual(got.event, { from: "tsmicro", n: 1 });
        assert.equal(got.metadata["Micro-Topic"], topic);
        assert.equal(got.metadata["Content-Type"], "application/json");
        assert.ok(got.metadata["Micro-Id"], "Micro-Id is set");
        assert.equal(got.metadata["X-Tenant"], "acme");
      } finally {
        await greeter.kill();
        await client.close();
        await broker.disconnect();
        await registry.close();
      }
    });

    test("a queue group shared by a go-micro and a tsmicro subscriber: each message goes to exactly one member", {
      timeout: 60_000,
    }, async () => {
      const topic = uniqueName("gomicro.http.q");
      const queue = uniqueName("workers");
      const registry = r.create();
      const subscriber = createGoMicroHttpBroker({ registry });
      const publisher = createGoMicroHttpBroker({ registry });
      const ours: number[] = [];
      const greeter = startGo(build, "greeter", [
        ...flags,
        "-name",
        uniqueName("go-sub"),
        "-topic",
        topic,
        "-queue",
        queue,
      ]);
      const theirs = () =>
        greeter
          .stdout()
          .split("\n")
          .filter((l) => l.startsWith('{"event"'))
          .map((l) => (JSON.parse(l) as { event: { n: number } }).event.n);
      try {
        await greeter.json("the go-micro subscriber to start", 20_000, (v) => "listening" in v);
        await subscriber.subscribe(
          topic,
          (e) => {
            ours.push((JSON.parse(Buffer.from(e.message.body).toString()) as { n: number }).n);
          },
          { queue },
        );
        // Both members registered (version = the queue name, as go-micro writes it).
        await waitFor("both members of the queue group in the registry", 10_000, async () => {
          const s = await registry.getService(GO_MICRO_HTTP_BROKER_SERVICE);
          const members = s
            .filter((x) => x.version === queue)
            .flatMap((x) => x.nodes.filter((n) => n.metadata.topic === topic));
          return members.length === 2 ? true : undefined;
        });
        for (let n = 0; n < 20; n++) {
          await publisher.publish(topic, {
            headers: { "content-type": "application/json" },
            body: Buffer.from(JSON.stringify({ n })),
          });
        }
        await waitFor("20 messages across the two members", 10_000, async () =>
          ours.length + theirs().length >= 20 ? true : undefined,
        );
        const all = [...ours, ...theirs()].sort((a, b) => a - b);
        assert.deepEqual(
          all,
          Array.from({ length: 20 }, (_, n) => n),
        );
        assert.ok(
          ours.length > 0 && theirs().length > 0,
          `ours ${ours.length}, go-micro's ${theirs().length}`,
        );
      } finally {
        await greeter.kill();
        await publisher.disconnect();
        await subscriber.disconnect();
        await registry.close();
      }
    });

    test("go-micro publishes on its http broker, a tsmicro subscriber receives payload and headers", {
      timeout: 60_000,
    }, async () => {
      const topic = uniqueName("gomicro.http");
      const registry = r.create();
      const broker = createGoMicroHttpBroker({ registry });
      const service = newService({ name: uniqueName("ts-sub"), broker, registry });
      const got: { payload: { from: string; name: string; n: number }; metadata: Record<string, string> }[] =
        [];
      service.subscribe(topic, async (ctx, payload: { from: string; name: string; n: number }) => {
        got.push({ payload, metadata: { ...ctx.metadata } });
      });
      await service.start();
      // The go-micro caller publishes every 200 ms until killed: its http broker posts from a goroutine.
      const caller = startGo(build, "caller", [
        ...flags,
        "-case",
        "publish",
        "-topic",
        topic,
        "-name",
        "Gopher",
        "-repeat",
        "200ms",
      ]);
      try {
        const [first] = await waitFor("the tsmicro subscriber to get go-micro's event", 15_000, async () =>
          got.length > 0 ? got : undefined,
        );
        assert.equal(first!.payload.from, "go-micro");
        assert.equal(first!.payload.name, "Gopher");
        assert.equal(typeof first!.payload.n, "number");
        assert.equal(first!.metadata["micro-topic"], topic);
        assert.equal(first!.metadata["content-type"], "application/json");
        assert.ok(first!.metadata["micro-id"], "micro-id is set");
        assert.equal(first!.metadata["x-tenant"], "acme");
      } finally {
        await caller.kill();
        await service.stop();
        await broker.disconnect();
        await registry.close();
      }
    });
  });
}

test("bad input: a malformed or misaddressed POST gets a MicroError and the subscription keeps working; a TLS subscriber is refused by name", {
  timeout: 30_000,
}, async () => {
  const registry = createGoMicroEtcdRegistry({ endpoints: etcd.endpoint });
  const broker = createGoMicroHttpBroker({ registry });
  const topic = uniqueName("gomicro.http.bad");
  const got: string[] = [];
  try {
    await broker.subscribe(topic, (e) => {
      got.push(Buffer.from(e.message.body).toString());
    });
    const [svc] = (await registry.getService(GO_MICRO_HTTP_BROKER_SERVICE)).filter((x) =>
      x.nodes.some((n) => n.metadata.topic === topic),
    );
    const node = svc!.nodes.find((n) => n.metadata.topic === topic)!;
    const post = (id: string, body: string) =>
      fetch(`http://${node.address}/?id=${encodeURIComponent(id)}`, { method: "POST", body });
    const garbage = await post(node.id, "{not json");
    assert.equal(garbage.status, 400);
    assert.match(((await garbage.json()) as { detail: string }).detail, /go-micro broker message|JSON/i);
    const elsewhere = await post(node.id, JSON.stringify({ Header: { "Micro-Topic": "other" }, Body: "" }));
    assert.equal(elsewhere.status, 400);
    const unknown = await post("nobody", JSON.stringify({ Header: { "Micro-Topic": topic }, Body: "" }));
    assert.equal(unknown.status, 404);
    await broker.publish(topic, { headers: {}, body: Buffer.from("still here") });
    await waitFor("the subscription to take a good message after bad ones", 5000, async () =>
      got.includes("still here") ? true : undefined,
    );

    // A go-micro subscriber behind TLS (metadata secure: true): refused with a 501 naming it.
    const secureTopic = uniqueName("gomicro.http.tls");
    const secure = {
      name: GO_MICRO_HTTP_BROKER_SERVICE,
      version: GO_MICRO_HTTP_BROADCAST_VERSION,
      metadata: {},
      endpoints: [],
      nodes: [
        {
          id: `${secureTopic}-tls`,
          address: "127.0.0.1:1",
          metadata: { broker: "http", topic: secureTopic, secure: "true" },
        },
      ],
    };
    await registry.register(secure, { ttlMs: 30_000 });
    // A publisher of its own: the first one's cached subscriber list may predate the record.
    const publisher = createGoMicroHttpBroker({ registry });
    try {
      const err = await publisher.publish(secureTopic, { headers: {}, body: Buffer.from("x") }).then(
        () => assert.fail("published to a TLS subscriber over plain HTTP"),
        (e: unknown) => e as MicroError,
      );
      assert.ok(err instanceof MicroError, String(err));
      assert.equal(err.code, 501);
      assert.match(err.detail, /secure \(TLS\)/);
      assert.match(err.detail, new RegExp(`${secureTopic}-tls`));
    } finally {
      await publisher.disconnect();
      await registry.deregister(secure);
    }
  } finally {
    await broker.disconnect();
    await registry.close();
  }
});

// The core conformance suite on go-micro's format, every role with its own registry handle on
// the same etcd (as separate processes would have).
const conformanceRegistries: Registry[] = [];
brokerConformance("go-micro http (etcd)", {
  create: () => {
    const registry = createGoMicroEtcdRegistry({ endpoints: etcd.endpoint });
    conformanceRegistries.push(registry);
    return createGoMicroHttpBroker({ registry });
  },
  durable: false,
});
after(() => Promise.all(conformanceRegistries.map((r) => r.close())));
