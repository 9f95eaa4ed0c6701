import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, createRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  background,
  createMemoryRegistry,
  implement,
  type MicroError,
  newClient,
  newRequest,
  newService,
} from "tsmicro";
// The example's generated code (examples/protobuf/gen, protoc-gen-es target=js+dts): one proto, one copy.
import {
  file_greeter,
  Greeter,
  HelloReplySchema,
  HelloRequestSchema,
} from "../../../examples/protobuf/gen/greeter_pb.js";
import {
  contractFromService,
  createProtobufCodec,
  PROTOBUF_CONTENT_TYPE,
  withProtobuf,
} from "../src/index.js";

const GreeterContract = contractFromService(Greeter);

const registry = createMemoryRegistry();
const service = newService({ name: "greeter", registry, codecs: withProtobuf() }).handle(
  implement(GreeterContract, {
    sayHello: async (_ctx, req) => {
      // The handler gets a real message (fromBinary), not bytes or a plain object.
      assert.equal(req.$typeName, "tsmicro.example.v1.HelloRequest");
      return create(HelloReplySchema, { greeting: `hello ${req.name}`, seq: 1n });
    },
    async *sayHellos(_ctx, req) {
      for (let i = 0; i < 3; i++)
        yield create(HelloReplySchema, { greeting: `hello ${req.name}`, seq: BigInt(i) });
    },
    async collectNames(_ctx, reqs) {
      const names: string[] = [];
      for await (const r of reqs) names.push(r.name);
      return create(HelloReplySchema, { greeting: names.join(","), seq: BigInt(names.length) });
    },
    async *chat(_ctx, reqs) {
      for await (const r of reqs) yield create(HelloReplySchema, { greeting: `re: ${r.name}` });
    },
  }),
);
const client = newClient({ registry, codecs: withProtobuf() });
const greeter = client.service(GreeterContract, "greeter");
const ctx = background();
const hello = (name: string) => create(HelloRequestSchema, { name });

before(() => service.start());
after(async () => {
  await client.close();
  await service.stop();
});

describe("a protoc-gen-es service through tsmicro (TCP, protobuf binary)", { timeout: 20_000 }, () => {
  test("endpoint names follow gRPC: package.Service.Method", () => {
    assert.equal(GreeterContract.name, "tsmicro.example.v1.Greeter");
    assert.deepEqual(
      Object.entries(GreeterContract.endpoints).map(([k, e]) => [k, e.kind, e.name]),
      [
        ["sayHello", "unary", "SayHello"],
        ["sayHellos", "server", "SayHellos"],
        ["collectNames", "client", "CollectNames"],
        ["chat", "bidi", "Chat"],
      ],
    );
  });

  test("unary, server-streaming, client-streaming and bidi, with typed messages", async () => {
    const r = await greeter.sayHello(ctx, hello("ada"));
    assert.equal(r.$typeName, "tsmicro.example.v1.HelloReply");
    assert.equal(r.greeting, "hello ada");
    assert.equal(r.seq, 1n);

    const seqs: bigint[] = [];
    for await (const m of greeter.sayHellos(ctx, hello("bob"))) seqs.push(m.seq);
    assert.deepEqual(seqs, [0n, 1n, 2n]);

    const c = await greeter.collectNames(ctx, [hello("a"), hello("b"), hello("c")]);
    assert.deepEqual([c.greeting, c.seq], ["a,b,c", 3n]);

    const s = await greeter.chat(ctx);
    await s.send(hello("x"));
    assert.equal((await s.recv())?.greeting, "re: x");
    s.closeSend();
    assert.equal(await s.recv(), undefined);
  });

  test("the bytes on the wire are protobuf binary", async () => {
    const bytes = toBinary(HelloRequestSchema, hello("wire"));
    const raw = await client.call<Uint8Array>(
      ctx,
      newRequest("greeter", "tsmicro.example.v1.Greeter.SayHello", bytes, {
        contentType: PROTOBUF_CONTENT_TYPE,
      }),
    );
    assert.ok(raw instanceof Uint8Array);
    assert.equal(fromBinary(HelloReplySchema, raw).greeting, "hello wire");
  });

  test("a JSON client calls the same endpoint with proto3 JSON", async () => {
    const json = newClient({ registry });
    try {
      const r = await json.call(
        ctx,
        newRequest("greeter", "tsmicro.example.v1.Greeter.SayHello", { name: "json" }),
      );
      assert.deepEqual(r, { greeting: "hello json", seq: "1" });
      await assert.rejects(
        json.call(ctx, newRequest("greeter", "tsmicro.example.v1.Greeter.SayHello", { nome: "typo" })),
        (e: MicroError) => e.code === 400 && /nome/.test(e.detail),
      );
    } finally {
      await json.close();
    }
  });

  test("undecodable bytes are a 400 naming the endpoint", async () => {
    await assert.rejects(
      client.call(
        ctx,
        newRequest("greeter", "tsmicro.example.v1.Greeter.SayHello", new Uint8Array([0xff, 0xff, 0xff]), {
          contentType: PROTOBUF_CONTENT_TYPE,
        }),
      ),
      (e: MicroError) => e.code === 400 && /Greeter\.SayHello/.test(e.detail),
    );
  });
});

describe("the codec", () => {
  test("passes bytes through, encodes registered messages, refuses anything else clearly", () => {
    const bare = createProtobufCodec();
    const bytes = new Uint8Array([1, 2, 3]);
    assert.equal(bare.encode(bytes), bytes);
    assert.equal(bare.decode(bytes), bytes);
    assert.throws(() => bare.encode(hello("x")), /not in the codec's registry/);
    assert.throws(() => bare.encode({ name: "x" }), /expected bytes or a protobuf message/);
    const withTypes = createProtobufCodec({ registry: createRegistry(file_greeter) });
    assert.deepEqual(fromBinary(HelloRequestSchema, withTypes.encode(hello("reg"))), hello("reg"));
  });
});
