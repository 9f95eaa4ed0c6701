import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { newClient } from "../src/client/client.js";
import { background } from "../src/context.js";
import { clientStream, defineContract, unary } from "../src/contract/contract.js";
import { implement } from "../src/contract/implement.js";
import type { StandardSchemaV1 } from "../src/contract/standard-schema.js";
import type { MicroError } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { newService } from "../src/service/service.js";

/** A hand-written Standard Schema (no library): proves the interface, not zod, is what counts. */
const positive: StandardSchemaV1<unknown, number> = {
  "~standard": {
    version: 1,
    vendor: "tsmicro-test",
    validate: (v) =>
      typeof v === "number" && v > 0 ? { value: v } : { issues: [{ message: "must be a positive number" }] },
  },
};

const Users = defineContract("Users", {
  create: unary({
    request: z.object({
      name: z.string().min(1),
      age: z.number().int(),
      tags: z.array(z.string()).optional(),
      address: z.object({ city: z.string() }).optional(),
    }),
    response: z.object({ id: z.string() }),
  }),
  broken: unary({ response: z.object({ id: z.string() }) }),
  double: unary({ request: positive }),
  total: clientStream({ request: z.object({ n: z.number() }), response: z.object({ sum: z.number() }) }),
});

let created = 0;
const registry = createMemoryRegistry();
const service = newService({ name: "users", registry }).handle(
  implement(Users, {
    create: async (_ctx, req) => {
      created++;
      return { id: `${req.name}-${req.age}` };
    },
    // A handler bug: the response breaks the contract's schema.
    broken: async () => ({ id: 7 }) as unknown as { id: string },
    double: async (_ctx, n) => n * 2,
    async total(_ctx, reqs) {
      let sum = 0;
      for await (const r of reqs) sum += r.n;
      return { sum };
    },
  }),
);
const client = newClient({ registry });
const users = client.service(Users, "users");
/** The same proxy without types, to send what TypeScript would refuse. */
const untyped = users as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
const ctx = background();

before(() => service.start());
after(async () => {
  await client.close();
  await service.stop();
});

describe("contracts at run time", { timeout: 20_000 }, () => {
  test("a valid request reaches the handler and the typed response comes back", async () => {
    assert.deepEqual(await users.create(ctx, { name: "ada", age: 36 }), { id: "ada-36" });
    assert.equal(await users.double(ctx, 21), 42);
  });

  test("an invalid request is a 400 naming the field path, and never reaches the handler", async () => {
    const before = created;
    await assert.rejects(untyped.create!(ctx, { name: "ada", age: "36" }), (e: MicroError) => {
      assert.equal(e.code, 400);
      assert.match(e.detail, /invalid request for Users\.create: request\.age: /);
      return true;
    });
    await assert.rejects(
      untyped.create!(ctx, { name: "ada", age: 1, tags: ["a", 2], address: { city: 3 } }),
      (e: MicroError) => {
        assert.equal(e.code, 400);
        assert.match(e.detail, /request\.tags\[1\]: /);
        assert.match(e.detail, /request\.address\.city: /);
        return true;
      },
    );
    await assert.rejects(untyped.double!(ctx, -1), (e: MicroError) => {
      assert.equal(e.code, 400);
      assert.match(e.detail, /request: must be a positive number/);
      return true;
    });
    assert.equal(created, before, "the handler ran for an invalid request");
  });

  test("a response that breaks the schema is a 500 (the handler's bug), not sent as is", async () => {
    await assert.rejects(users.broken(ctx, undefined), (e: MicroError) => {
      assert.equal(e.code, 500);
      assert.match(e.detail, /invalid response for Users\.broken: response\.id: /);
      return true;
    });
  });

  test("each message of a client stream is validated; a bad one ends the call with 400", async () => {
    assert.deepEqual(await users.total(ctx, [{ n: 1 }, { n: 2 }]), { sum: 3 });
    await assert.rejects(untyped.total!(ctx, [{ n: 1 }, { n: "2" }]), (e: MicroError) => {
      assert.equal(e.code, 400);
      assert.match(e.detail, /request\.n: /);
      return true;
    });
  });

  test("implement refuses, at run time too, a missing or unknown handler", () => {
    assert.throws(
      () => implement(Users, { create: async () => ({ id: "" }) } as never),
      /no handler for endpoint "broken"/,
    );
    assert.throws(
      () =>
        implement(Users, {
          create: async () => ({ id: "" }),
          broken: async () => ({ id: "" }),
          double: async () => 1,
          total: async () => ({ sum: 0 }),
          extra: async () => 1,
        } as never),
      /"extra" is not an endpoint/,
    );
  });
});
