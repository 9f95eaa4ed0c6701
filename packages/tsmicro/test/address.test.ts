/**
 * Advertised addresses: what a service and the http broker register. The rule's unit tests use
 * an injected interface list; the service and broker tests bind loopback for real (a wildcard
 * bind on a shared machine would listen on its real interfaces). test/multihost binds 0.0.0.0
 * inside network namespaces and dials the registered address from another namespace.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { createHttpBroker } from "../src/broker/http.js";
import { brokerServiceName } from "../src/broker/http-directory.js";
import { newClient } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { MicroError } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { newService } from "../src/service/service.js";
import {
  advertisedAddress,
  brokerDefaultsFor,
  ENV_SERVER_ADDRESS,
  ENV_SERVER_ADVERTISE,
  isWildcardHost,
} from "../src/transport/address.js";
import { createTcpTransport } from "../src/transport/tcp.js";
import type { Transport } from "../src/transport/transport.js";
import { loopbackOnly, v4, v6 } from "./support/interfaces.js";

describe("advertisedAddress", () => {
  it("a wildcard IPv4 bind registers the first non-loopback, non-link-local IPv4 address", () => {
    const interfaces = () => ({
      lo: [v4("127.0.0.1", true)],
      eth0: [v6("fe80::1"), v4("169.254.10.1"), v6("fd00::7"), v4("10.20.0.5")],
      eth1: [v4("10.30.0.9")],
    });
    assert.equal(advertisedAddress("0.0.0.0:4100", { interfaces }), "10.20.0.5:4100");
    // IPv4 before IPv6, even on a `::` bind (dual stack accepts both).
    assert.equal(advertisedAddress("[::]:4100", { interfaces }), "10.20.0.5:4100");
  });

  it("a `::` bind on an IPv6-only host registers a global IPv6 address in brackets; 0.0.0.0 does not", () => {
    const interfaces = () => ({ lo: [v6("::1", true)], eth0: [v6("fe80::2"), v6("fd00::7")] });
    assert.equal(advertisedAddress("[::]:80", { interfaces }), "[fd00::7]:80");
    // 0.0.0.0 accepts no IPv6 connection: registering fd00::7 would not be dialable.
    assert.throws(() => advertisedAddress("0.0.0.0:80", { interfaces }), MicroError);
  });

  it("a concrete bind registers itself, whatever the interfaces", () => {
    assert.equal(advertisedAddress("127.0.0.1:9", { interfaces: loopbackOnly }), "127.0.0.1:9");
    assert.equal(advertisedAddress("[fd00::1]:9", { interfaces: loopbackOnly }), "[fd00::1]:9");
  });

  it("advertise wins: a host name with a port as given, a bare host with the bound port", () => {
    const o = { interfaces: loopbackOnly };
    assert.equal(
      advertisedAddress("0.0.0.0:4100", { ...o, advertise: "orders.internal:443" }),
      "orders.internal:443",
    );
    assert.equal(
      advertisedAddress("0.0.0.0:4100", { ...o, advertise: "orders.internal" }),
      "orders.internal:4100",
    );
    assert.equal(advertisedAddress("0.0.0.0:4100", { ...o, advertise: "10.0.0.8" }), "10.0.0.8:4100");
    assert.equal(advertisedAddress("0.0.0.0:4100", { ...o, advertise: "fd00::8" }), "[fd00::8]:4100");
    assert.equal(advertisedAddress("0.0.0.0:4100", { ...o, advertise: "[fd00::8]:5" }), "[fd00::8]:5");
  });

  it("no address qualifies: a MicroError that names the option to set", () => {
    const interfaces = () => ({ lo: [v4("127.0.0.1", true)], eth0: [v4("169.254.3.3"), v6("fe80::3")] });
    const err = (() => {
      try {
        advertisedAddress("0.0.0.0:4100", { interfaces, option: "the service's advertise option" });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof MicroError, "a MicroError");
    assert.equal(err.code, 500);
    assert.match(err.detail, /0\.0\.0\.0:4100/);
    assert.match(err.detail, /non-loopback, non-link-local/);
    assert.match(err.detail, /set the service's advertise option/);
    // Advertising a wildcard is refused too, naming what was given.
    assert.throws(
      () => advertisedAddress("0.0.0.0:1", { advertise: "0.0.0.0:1", interfaces: loopbackOnly }),
      (e: unknown) =>
        e instanceof MicroError && e.code === 400 && /advertise is "0\.0\.0\.0:1"/.test(e.detail),
    );
  });

  it("knows the wildcards", () => {
    for (const h of ["0.0.0.0", "::", "[::]", ""]) assert.ok(isWildcardHost(h), h);
    for (const h of ["127.0.0.1", "::1", "example.com"]) assert.ok(!isWildcardHost(h), h);
  });
});

describe("service advertise", () => {
  const saved = { address: process.env[ENV_SERVER_ADDRESS], advertise: process.env[ENV_SERVER_ADVERTISE] };
  afterEach(() => {
    for (const [k, v] of [
      [ENV_SERVER_ADDRESS, saved.address],
      [ENV_SERVER_ADVERTISE, saved.advertise],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  class Echo {
    async ping() {
      return { pong: true };
    }
  }

  it("registers a given host name, and a client dials the node through it", async () => {
    const registry = createMemoryRegistry();
    const service = newService({ name: "adv-name", registry, advertise: "localhost" }).handle(new Echo());
    await service.start();
    const client = newClient({ registry });
    try {
      const port = service.address.split(":").pop();
      const [found] = await registry.getService("adv-name");
      assert.equal(found?.nodes[0]?.address, `localhost:${port}`);
      assert.equal(service.advertised, `localhost:${port}`);
      assert.deepEqual(await client.call(background(), newRequest("adv-name", "Echo.ping", {})), {
        pong: true,
      });
    } finally {
      await client.close();
      await service.stop();
    }
  });

  it("MICRO_SERVER_ADDRESS chooses the listener and MICRO_SERVER_ADVERTISE what is registered; options win", async () => {
    process.env[ENV_SERVER_ADDRESS] = "127.0.0.1:0";
    process.env[ENV_SERVER_ADVERTISE] = "env-host.example:7001";
    const registry = createMemoryRegistry();
    const fromEnv = newService({ name: "adv-env", registry });
    const fromOption = newService({ name: "adv-opt", registry, advertise: "opt-host.example:7002" });
    await fromEnv.start();
    await fromOption.start();
    try {
      assert.match(fromEnv.address, /^127\.0\.0\.1:\d+$/);
      assert.equal((await registry.getService("adv-env"))[0]?.nodes[0]?.address, "env-host.example:7001");
      assert.equal((await registry.getService("adv-opt"))[0]?.nodes[0]?.address, "opt-host.example:7002");
    } finally {
      await fromEnv.stop();
      await fromOption.stop();
    }
  });

  it("refuses to start when it would register a wildcard, and leaves nothing listening", async () => {
    const registry = createMemoryRegistry();
    let closed = false;
    const tcp = createTcpTransport();
    // The real TCP listener, watched for close().
    const transport: Transport = {
      ...tcp,
      async listen(address, handler, streams) {
        const l = await tcp.listen(address, handler, streams);
        return {
          ...l,
          address: l.address,
          stopAccepting: () => l.stopAccepting(),
          close: async () => {
            closed = true;
            await l.close();
          },
        };
      },
    };
    const service = newService({ name: "adv-bad", registry, transport, advertise: "0.0.0.0" });
    await assert.rejects(
      service.start(),
      (e: unknown) =>
        e instanceof MicroError && /advertise/.test(e.detail) && /MICRO_SERVER_ADVERTISE/.test(e.detail),
    );
    assert.ok(closed, "the listener was closed");
    assert.deepEqual(await registry.getService("adv-bad"), [], "nothing registered");
  });
});

describe("a service's default http broker follows the service", () => {
  it("shares a wildcard bind (own port) and the advertised host", () => {
    assert.deepEqual(brokerDefaultsFor("0.0.0.0:8080", "10.0.0.5:8080"), {
      address: "0.0.0.0:0",
      advertise: "10.0.0.5",
    });
    assert.deepEqual(brokerDefaultsFor("[::]:1", "[fd00::1]:5"), { address: "[::]:0", advertise: "fd00::1" });
    assert.deepEqual(
      brokerDefaultsFor("127.0.0.1:0", undefined),
      {},
      "a loopback bind keeps the broker's default",
    );
    assert.deepEqual(brokerDefaultsFor(undefined, "pod.example"), { advertise: "pod.example" });
  });

  it("registers its subscribers under the service's advertised host", async () => {
    const registry = createMemoryRegistry();
    const service = newService({ name: "adv-sub", registry, advertise: "localhost" });
    service.subscribe("adv.sub.topic", () => {});
    await service.start();
    try {
      const [sub] = await registry.getService(brokerServiceName("adv.sub.topic"));
      const address = sub?.nodes[0]?.address ?? "";
      assert.match(address, /^localhost:\d+$/);
      assert.notEqual(address, service.advertised, "the broker's own port");
    } finally {
      await service.stop();
    }
  });
});

describe("http broker advertise", () => {
  it("registers its subscribers under the advertised host with the bound port", async () => {
    const registry = createMemoryRegistry();
    const broker = createHttpBroker({ registry, advertise: "localhost" });
    await broker.connect();
    try {
      const got: string[] = [];
      await broker.subscribe("adv.topic", async (m) => {
        got.push(Buffer.from(m.message.body).toString());
      });
      const [svc] = await registry.getService(brokerServiceName("adv.topic"));
      assert.match(svc?.nodes[0]?.address ?? "", /^localhost:\d+$/);
      // Dialable: a publisher on another broker reaches it through that name.
      const publisher = createHttpBroker({ registry });
      await publisher.connect();
      await publisher.publish("adv.topic", { headers: {}, body: Buffer.from("hi") });
      await publisher.disconnect();
      const end = Date.now() + 5000;
      while (got.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(got, ["hi"]);
    } finally {
      await broker.disconnect();
    }
  });

  it("refuses a wildcard advertise with the option named", async () => {
    const broker = createHttpBroker({ registry: createMemoryRegistry(), advertise: "::" });
    await assert.rejects(
      broker.subscribe("adv.bad", async () => {}),
      (e: unknown) => e instanceof MicroError && /http broker's advertise option/.test(e.detail),
    );
    await broker.disconnect();
  });
});
