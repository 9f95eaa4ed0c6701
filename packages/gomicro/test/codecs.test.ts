/**
 * go-micro's other codecs, unary, both directions against go-micro v4.10.2 processes found
 * through etcd and through the NATS registry: `application/protobuf`, `application/proto-rpc`
 * (go-micro's envelope) and `application/octet-stream`. The messages are
 * google.protobuf.StringValue (@bufbuild/protobuf's well-known types on our side, wrapperspb on
 * go-micro's), so neither side needs generated code.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { startEtcd } from "@tsmicro/etcd/testing";
import { withProtobuf } from "@tsmicro/protobuf";
import { background, badRequest, MicroError, newClient, newRequest, newService } from "tsmicro";
import {
  createGoMicroEtcdRegistry,
  createGoMicroNatsRegistry,
  createGoMicroTransport,
  withGoMicroCodecs,
} from "../src/index.js";
import { buildGoPrograms, type GoProcess, startGo } from "../src/testing/index.js";
import { goCall, uniqueName } from "./harness/fleet.js";

const build = await buildGoPrograms();
const etcd = await startEtcd({ private: true });
after(() => etcd.stop());
const NATS = process.env.TSMICRO_TEST_NATS ?? "127.0.0.1:4222";
// Both of go-micro's registries the fleet may use: the wire does not depend on it, discovery does.
// A NATS lookup gathers the replies within queryTimeoutMs: 500 ms leaves a loaded machine time
// to answer (the default 100 ms does not always).
const registries = [
  {
    name: "etcd",
    flags: ["-registry", "etcd", "-registry_address", etcd.endpoint],
    create: () => createGoMicroEtcdRegistry({ endpoints: etcd.endpoint }),
  },
  {
    name: "NATS",
    flags: ["-registry", "nats", "-registry_address", NATS],
    create: () => createGoMicroNatsRegistry({ servers: NATS, queryTimeoutMs: 500 }),
  },
];
const codecs = withGoMicroCodecs(withProtobuf());

const encode = (value: string) => toBinary(StringValueSchema, create(StringValueSchema, { value }));
const decode = (bytes: unknown) => {
  assert.ok(bytes instanceof Uint8Array, `expected bytes, got ${typeof bytes}`);
  return fromBinary(StringValueSchema, bytes).value;
};

for (const r of registries) {
  const flags = r.flags;
  describe(`tsmicro client -> go-micro, by codec (${r.name})`, () => {
    const name = uniqueName("go-codecs");
    const registry = r.create();
    const client = newClient({ registry, transport: createGoMicroTransport(), retries: 0, codecs });
    let greeter: GoProcess;
    before(async () => {
      greeter = startGo(build, "greeter", [...flags, "-name", name]);
      await greeter.json("the go-micro greeter to register", 20_000, (v) => "listening" in v);
    });
    after(async () => {
      await greeter.kill();
      await client.close();
      await registry.close();
    });

    for (const contentType of ["application/protobuf", "application/proto-rpc"]) {
      test(`${contentType}: a protobuf message there and back`, async () => {
        const rsp = await client.call(
          background(),
          newRequest(name, "Codecs.Echo", encode("Ada"), { contentType }),
        );
        assert.equal(decode(rsp), "go-micro echo: Ada");
      });

      test(`${contentType}: go-micro's error arrives as the same MicroError`, async () => {
        const err = await client
          .call(background(), newRequest(name, "Codecs.Echo", encode(""), { contentType }))
          .then(
            () => assert.fail("an empty value succeeded"),
            (e: unknown) => e as MicroError,
          );
        assert.ok(err instanceof MicroError, String(err));
        assert.deepEqual([err.id, err.code, err.detail], ["greeter.codecs", 400, "value is required"]);
      });
    }

    test("application/octet-stream: bytes there and back", async () => {
      const body = Buffer.from([0, 1, 2, 0xff, 0x80]);
      const rsp = await client.call(
        background(),
        newRequest(name, "Codecs.Bytes", body, { contentType: "application/octet-stream" }),
      );
      assert.ok(rsp instanceof Uint8Array);
      assert.deepEqual(Buffer.from(rsp), Buffer.concat([Buffer.from("go-micro:"), body]));
    });
  });

  describe(`go-micro client -> tsmicro service, by codec (${r.name})`, () => {
    const name = uniqueName("ts-codecs");
    const registry = r.create();
    const seen: string[] = [];
    const service = newService({ name, registry, transport: createGoMicroTransport(), codecs });
    service.handle(
      new (class Codecs {
        async Echo(_ctx: unknown, req: Uint8Array) {
          const value = decode(req);
          if (value === "") throw badRequest("ts.codecs", "value is required");
          return encode(`tsmicro echo: ${value}`);
        }
        async Bytes(_ctx: unknown, req: Uint8Array) {
          seen.push(Buffer.from(req).toString("hex"));
          return Buffer.concat([Buffer.from("tsmicro:"), req]);
        }
      })(),
    );
    before(() => service.start());
    after(async () => {
      await service.stop();
      await registry.close();
    });

    for (const contentType of ["application/protobuf", "application/proto-rpc"]) {
      test(`${contentType}: a protobuf message there and back`, async () => {
        const r = await goCall(build, [
          ...flags,
          "-service",
          name,
          "-case",
          "proto",
          "-content_type",
          contentType,
          "-name",
          "Gopher",
        ]);
        assert.equal(r.ok, true, r.raw);
        assert.deepEqual(r.response, { value: "tsmicro echo: Gopher" });
      });

      test(`${contentType}: tsmicro's MicroError arrives as go-micro's error`, async () => {
        const r = await goCall(build, [
          ...flags,
          "-service",
          name,
          "-case",
          "proto",
          "-content_type",
          contentType,
          "-name",
          "",
        ]);
        assert.equal(r.ok, false);
        assert.deepEqual(
          [r.error?.id, r.error?.code, r.error?.detail],
          ["ts.codecs", 400, "value is required"],
          r.raw,
        );
      });
    }

    test("application/octet-stream: bytes there and back", async () => {
      const r = await goCall(build, [
        ...flags,
        "-service",
        name,
        "-case",
        "bytes",
        "-content_type",
        "application/octet-stream",
        "-name",
        "raw\u00e9",
      ]);
      assert.equal(r.ok, true, r.raw);
      assert.deepEqual(r.response, { data: "tsmicro:raw\u00e9" });
      assert.deepEqual(seen, [Buffer.from("raw\u00e9").toString("hex")]);
    });
  });
}
