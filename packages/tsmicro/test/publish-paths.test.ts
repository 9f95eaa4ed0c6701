// Publishes reach subscriber nodes the way calls reach servers (issue 13): the HTTP broker's
// delivery to each subscriber is a node attempt (selector/node-attempt.ts) like a call's, so
// the stall doctor shows a publish selecting, dialing and publishing, names the node, and a
// subscriber that cannot be reached is marked and skipped the way a selector ejects a node.
import assert from "node:assert/strict";
import net from "node:net";
import { after, describe, it } from "node:test";
import type { Broker, Event } from "../src/broker/broker.js";
import { createHttpBroker } from "../src/broker/http.js";
import { brokerServiceName, groupVersion } from "../src/broker/http-directory.js";
import { newClient } from "../src/client/client.js";
import { newMessage } from "../src/client/publish.js";
import { background } from "../src/context.js";
import type { CallPhase, InflightCall } from "../src/inflight.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import type { Registry } from "../src/registry/registry.js";
import { waitFor } from "../src/testing/wait.js";
import { within } from "./helpers.js";

const run = Math.random().toString(36).slice(2, 8);

/** A promise and the function that settles it. */
function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { open, wait };
}

/** An in-flight record that logs every phase and node it is given, in order. */
function recorder(): { record: InflightCall; phases: CallPhase[]; nodes: string[] } {
  const phases: CallPhase[] = [];
  const nodes: string[] = [];
  let phase: CallPhase = "publishing";
  let node: string | undefined;
  const record = {
    id: 0,
    side: "client",
    service: "t",
    endpoint: "publish",
    phaseSince: 0,
    startedAt: Date.now(),
    deadline: undefined,
    chain: [],
    attempt: 1,
    get phase() {
      return phase;
    },
    set phase(p: CallPhase) {
      phase = p;
      phases.push(p);
    },
    get node() {
      return node;
    },
    set node(n: string | undefined) {
      node = n;
      if (n !== undefined) nodes.push(n);
    },
  } as InflightCall;
  return { record, phases, nodes };
}

/** A port nothing listens on (bound, then closed): connecting to it is refused. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("a publish reaches subscribers through a node attempt", () => {
  const brokers: Broker[] = [];
  const registries: Registry[] = [];
  after(async () => {
    await Promise.all(brokers.map((b) => b.disconnect()));
    await Promise.all(registries.map((r) => r.close()));
  });
  const broker = (registry: Registry, options: Parameters<typeof createHttpBroker>[0] = {}) => {
    const b = createHttpBroker({ registry, onError: () => {}, ...options });
    brokers.push(b);
    return b;
  };

  it("phases follow the socket: selecting, dialing, publishing on a new one; no dialing on a kept one", async () => {
    const registry = createMemoryRegistry();
    registries.push(registry);
    const topic = `paths-${run}-phases`;
    const got: string[] = [];
    const subscriber = broker(registry);
    await subscriber.subscribe(topic, (e: Event) => {
      got.push(new TextDecoder().decode(e.message.body));
    });
    const publisher = broker(registry);

    const first = recorder();
    await within(
      publisher.publish(topic, { headers: {}, body: Buffer.from("1") }, { inflight: first.record }),
      5000,
      "the first publish",
    );
    assert.deepEqual(first.phases, ["selecting", "dialing", "publishing"]);
    assert.equal(first.nodes.length, 1, `nodes: ${first.nodes.join(", ")}`);

    const second = recorder();
    await within(
      publisher.publish(topic, { headers: {}, body: Buffer.from("2") }, { inflight: second.record }),
      5000,
      "the second publish",
    );
    assert.deepEqual(second.phases, ["selecting", "publishing"], "the kept-alive socket was dialed again");
    assert.deepEqual(second.nodes, first.nodes);
    await waitFor("both messages delivered", 5000, async () => (got.length === 2 ? true : undefined));
  });

  it("a subscriber that is gone is marked once and skipped after, like an ejected node", async () => {
    const registry = createMemoryRegistry();
    registries.push(registry);
    const topic = `paths-${run}-marks`;
    const got: string[] = [];
    const live = broker(registry);
    await live.subscribe(
      topic,
      (e: Event) => {
        got.push(new TextDecoder().decode(e.message.body));
      },
      { queue: "g" },
    );
    // A member of the same group whose process died without deregistering.
    const dead = { id: `dead-${run}`, address: `127.0.0.1:${await closedPort()}`, metadata: {} };
    await registry.register({
      name: brokerServiceName(topic),
      version: groupVersion("g"),
      metadata: {},
      endpoints: [],
      nodes: [{ ...dead, metadata: { broker: "http", topic, queue: "g", path: `/broker/${dead.id}` } }],
    });
    const publisher = broker(registry);
    const tried: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = recorder();
      await within(
        publisher.publish(topic, { headers: {}, body: Buffer.from(String(i)) }, { inflight: r.record }),
        5000,
        `publish ${i}`,
      );
      tried.push(...r.nodes);
    }
    // Round robin over two members puts the dead one first in two of four publishes: the mark
    // from the first keeps the second away from it.
    assert.equal(tried.filter((n) => n === dead.id).length, 1, `tried: ${tried.join(", ")}`);
    assert.equal(tried.filter((n) => n !== dead.id).length, 4, `tried: ${tried.join(", ")}`);
    await waitFor("four messages on the live member", 5000, async () =>
      got.length === 4 ? true : undefined,
    );
  });

  it("client.publish shows in the client's in-flight table: selecting, then publishing to the subscriber's node", async () => {
    const base = createMemoryRegistry();
    registries.push(base);
    const topic = `paths-${run}-client`;
    const lookup = gate();
    // The publisher's registry answers its subscriber lookup only when the test says so.
    const registry: Registry = Object.create(base, {
      getService: {
        value: async (name: string) => {
          if (name === brokerServiceName(topic)) await lookup.wait;
          return base.getService(name);
        },
      },
    });
    const handling = gate();
    const release = gate();
    const subscriber = broker(base, { maxPending: 1 });
    await subscriber.subscribe(topic, async () => {
      handling.open();
      await release.wait;
    });
    const client = newClient({ registry, broker: broker(registry) });
    try {
      const ctx = background();
      const firstDone = client.publish(ctx, newMessage(topic, { n: 1 }));
      const row = () => client.inflight().find((c) => c.service === topic);
      const selecting = await waitFor("the publish selecting", 5000, async () =>
        row()?.phase === "selecting" ? row() : undefined,
      );
      assert.equal(selecting.endpoint, "publish");
      assert.equal(selecting.side, "client");
      assert.equal(selecting.node, undefined);
      lookup.open();
      await within(firstDone, 5000, "the first publish");
      await within(handling.wait, 5000, "the handler to hold the first message");
      // The subscriber holds one message (maxPending 1): the next waits for it to take it.
      const secondDone = client.publish(ctx, newMessage(topic, { n: 2 }));
      const publishing = await waitFor("the publish publishing", 5000, async () =>
        row()?.phase === "publishing" && row()?.node !== undefined ? row() : undefined,
      );
      const [registered] = await base.getService(brokerServiceName(topic));
      assert.equal(publishing.node, registered!.nodes[0]!.id);
      release.open();
      await within(secondDone, 5000, "the second publish");
      assert.equal(row(), undefined, "the publish's record outlived it");
    } finally {
      release.open();
      await client.close();
    }
  });
});
