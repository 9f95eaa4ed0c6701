/**
 * `tsmicro gen` end to end: buf and protoc-gen-es from npm compile a .proto; the generated
 * contract is served with `implement` and called through the generated typed client.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { withProtobuf } from "@tsmicro/protobuf";
import { background, createMemoryRegistry, implement, newClient, newService, withTimeout } from "tsmicro";
import { BIN } from "./helpers.js";
import { exec } from "./pack.js";

// Inside the repository (a dot directory the test runner skips), so that the generated code
// resolves @bufbuild/protobuf and @tsmicro/protobuf from the workspace.
const dir = new URL(`./.gen-${process.pid}/`, import.meta.url).pathname;
after(() => rmSync(dir, { recursive: true, force: true }));

test("gen: a .proto becomes protobuf-es code and a contract whose typed client calls a served implementation", async () => {
  mkdirSync(join(dir, "proto"), { recursive: true });
  writeFileSync(
    join(dir, "proto", "inventory.proto"),
    `syntax = "proto3";
package inventory.v1;
// Stock levels.
service Inventory {
  rpc Count(CountRequest) returns (CountResponse);
}
message CountRequest { string sku = 1; }
message CountResponse { string sku = 1; int64 count = 2; }
`,
  );
  const r = await exec(
    process.execPath,
    [BIN, "gen", join(dir, "proto", "inventory.proto"), "--out", join(dir, "src")],
    dir,
    60_000,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*src\/gen\/inventory_pb\.ts/);
  assert.match(r.stdout, /services: Inventory/);
  assert.match(
    readFileSync(join(dir, "src", "contract.ts"), "utf8"),
    /export const InventoryContract = contractFromService\(Inventory\)/,
  );

  const pb = await import(join(dir, "src", "gen", "inventory_pb.ts"));
  const gen = await import(join(dir, "src", "contract.ts"));
  const registry = createMemoryRegistry();
  const service = newService({ name: "inventory", registry, codecs: withProtobuf(), log: () => {} });
  service.handle(
    implement(gen.InventoryContract, {
      async count(_ctx: unknown, req: { sku: string }) {
        return create(pb.CountResponseSchema, { sku: req.sku, count: BigInt(req.sku.length) });
      },
    }),
  );
  await service.start();
  const client = newClient({ registry, codecs: withProtobuf() });
  try {
    const inventory = gen.inventoryClient(client, "inventory");
    const rsp = await inventory.count(
      withTimeout(background(), 5000),
      create(pb.CountRequestSchema, { sku: "abc-123" }),
    );
    assert.equal(rsp.sku, "abc-123");
    assert.equal(rsp.count, 7n);
  } finally {
    await client.close();
    await service.stop();
  }
});

test("gen: a .proto that does not compile fails with buf's reason, exit 1", async () => {
  mkdirSync(join(dir, "bad"), { recursive: true });
  writeFileSync(join(dir, "bad", "broken.proto"), 'syntax = "proto3";\nmessage { }\n');
  const r = await exec(
    process.execPath,
    [BIN, "gen", join(dir, "bad", "broken.proto"), "--out", join(dir, "bad-out")],
    dir,
    60_000,
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^tsmicro: gen failed: 400 Bad Request: buf generate failed: .*broken\.proto/);
});
