/** A real service for the gateway tests: a zod contract (unary, server stream), a class with failures. */
import {
  type Context,
  defineContract,
  implement,
  internalServerError,
  type MicroService,
  newService,
  type Registry,
  serverStream,
  unary,
} from "tsmicro";
import { z } from "zod";

export const Orders = defineContract("Orders", {
  get: unary({
    request: z.object({ id: z.string(), full: z.string().optional() }),
    response: z.object({ id: z.string(), total: z.number(), full: z.boolean() }),
  }),
  create: unary({
    request: z.object({ item: z.string(), qty: z.number().int().positive() }),
    response: z.object({ id: z.string() }),
  }),
  remove: unary<{ id: string }, { removed: string }>(),
  watch: serverStream({
    request: z.object({
      count: z.coerce.number().int().min(0).max(100),
      failAt: z.coerce.number().optional(),
    }),
    response: z.object({ n: z.number() }),
  }),
});

export class Api {
  async echo(ctx: Context, req: unknown) {
    return { req, metadata: ctx.metadata };
  }
  async leak() {
    // A handler bug whose message carries a secret: must not reach anonymous callers.
    throw new Error("connect postgres://app:s3cret-pw@db.internal:5432/orders failed");
  }
  async down() {
    throw internalServerError("orders", "pool exhausted at db.internal:5432");
  }
}

export async function startOrders(registry: Registry, name = "orders"): Promise<MicroService> {
  const service = newService({ name, registry, log: () => {} });
  service.handle(
    implement(Orders, {
      get: (_ctx, req) => ({ id: req.id, total: 42, full: req.full === "1" }),
      create: (_ctx, req) => ({ id: `${req.item}-${req.qty}` }),
      remove: (_ctx, req) => ({ removed: req.id }),
      watch: async function* (_ctx, req) {
        for (let n = 0; n < req.count; n++) {
          if (req.failAt === n) throw internalServerError("orders", `stream broke at ${n}`);
          yield { n };
        }
      },
    }),
  );
  service.handle(new Api());
  await service.start();
  return service;
}
