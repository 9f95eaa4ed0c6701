// A protoc-gen-es generated service (proto/greeter.proto → gen/) served by tsmicro and called
// through the typed proxy: over the TCP transport, then over gRPC, where a grpc-js client could
// call it too. Run: node examples/protobuf/main.mjs
import { create } from "@bufbuild/protobuf";
import { createGrpcTransport } from "@tsmicro/grpc";
import { contractFromService, withProtobuf } from "@tsmicro/protobuf";
import { background, createMemoryRegistry, implement, newClient, newService } from "tsmicro";
import { Greeter, HelloReplySchema, HelloRequestSchema } from "./gen/greeter_pb.js";

// The contract comes from the generated descriptor: endpoints tsmicro.example.v1.Greeter.SayHello, ...
const GreeterContract = contractFromService(Greeter);

const greeterImpl = implement(GreeterContract, {
  sayHello: async (_ctx, req) => create(HelloReplySchema, { greeting: `hello ${req.name}`, seq: 1n }),
  async *sayHellos(_ctx, req) {
    for (let i = 1n; i <= 3n; i++)
      yield create(HelloReplySchema, { greeting: `hello ${req.name} #${i}`, seq: i });
  },
  async collectNames(_ctx, reqs) {
    const names = [];
    for await (const r of reqs) names.push(r.name);
    return create(HelloReplySchema, { greeting: `hello ${names.join(" and ")}`, seq: BigInt(names.length) });
  },
  async *chat(_ctx, reqs) {
    for await (const r of reqs) yield create(HelloReplySchema, { greeting: `hi ${r.name}` });
  },
});

async function run(transportName, transport) {
  const registry = createMemoryRegistry();
  const codecs = withProtobuf();
  const service = newService({ name: "greeter", registry, codecs, transport: transport() }).handle(
    greeterImpl,
  );
  await service.start();
  const client = newClient({ registry, codecs, transport: transport() });
  const greeter = client.service(GreeterContract, "greeter");
  const ctx = background();
  const hello = (name) => create(HelloRequestSchema, { name });
  try {
    console.log(`[${transportName}] ${service.address}`);
    const r = await greeter.sayHello(ctx, hello("Ada"));
    console.log(`[${transportName}] sayHello: ${r.greeting}`);
    for await (const m of greeter.sayHellos(ctx, hello("Bob")))
      console.log(`[${transportName}] sayHellos: ${m.greeting}`);
    const c = await greeter.collectNames(ctx, [hello("Cy"), hello("Di")]);
    console.log(`[${transportName}] collectNames: ${c.greeting} (${c.seq})`);
    const s = await greeter.chat(ctx);
    await s.send(hello("Eve"));
    console.log(`[${transportName}] chat: ${(await s.recv())?.greeting}`);
    s.closeSend();
  } finally {
    await client.close();
    await service.stop();
  }
}

await run("tcp", () => undefined);
await run("grpc", () => createGrpcTransport());
