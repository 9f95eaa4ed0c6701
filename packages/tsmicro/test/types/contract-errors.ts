/**
 * Intended type errors: every `@ts-expect-error` below marks a mistake that a contract must
 * turn into a compile error. `npm run typecheck` checks this file (an unused directive fails
 * it), and test/contract-types.test.ts proves each directive sits on a real error.
 * Never run: it only has to type-check.
 */
import { z } from "zod";
import type { Client } from "../../src/client/client.js";
import { background } from "../../src/context.js";
import {
  bidiStream,
  clientStream,
  defineContract,
  serverStream,
  unary,
} from "../../src/contract/contract.js";
import { implement } from "../../src/contract/implement.js";

const Greeter = defineContract("Greeter", {
  hello: unary<{ name: string }, { greeting: string }>(),
  watch: serverStream<{ topic: string }, { seq: number }>(),
  upload: clientStream<{ chunk: string }, { bytes: number }>(),
  chat: bidiStream<{ text: string }, { text: string }>(),
  checked: unary({
    request: z.object({ name: z.string(), age: z.number().int() }),
    response: z.object({ ok: z.boolean() }),
  }),
});

export async function clientSide(client: Client): Promise<void> {
  const ctx = background();
  const greeter = client.service(Greeter, "greeter");

  const r = await greeter.hello(ctx, { name: "Ada" });
  const greeting: string = r.greeting;
  void greeting;

  // @ts-expect-error an endpoint the contract does not have
  await greeter.goodbye(ctx, { name: "Ada" });
  // @ts-expect-error a misspelt request field
  await greeter.hello(ctx, { nam: "Ada" });
  // @ts-expect-error a request field of the wrong type
  await greeter.hello(ctx, { name: 42 });
  // @ts-expect-error the context is required
  await greeter.hello({ name: "Ada" });
  // @ts-expect-error a response field that does not exist
  void r.message;

  // A fallback answers with the endpoint's response, given its typed request.
  const f = await greeter.hello(
    ctx,
    { name: "Ada" },
    { fallback: (_e, req) => ({ greeting: `hi ${req.name}` }) },
  );
  void f.greeting;
  // @ts-expect-error a fallback whose answer is not the endpoint's response
  await greeter.hello(ctx, { name: "Ada" }, { fallback: () => ({ message: "hi" }) });
  // @ts-expect-error a fallback reading a request field the endpoint does not have
  await greeter.hello(ctx, { name: "Ada" }, { fallback: (_e, req) => ({ greeting: req.nam }) });

  for await (const ev of greeter.watch(ctx, { topic: "t" })) {
    const seq: number = ev.seq;
    void seq;
    // @ts-expect-error server-streaming responses are { seq: number }
    const s: string = ev.seq;
    void s;
  }
  // @ts-expect-error a server-streaming call returns an async iterable, not a promise of the response
  const notAPromise: { seq: number } = await greeter.watch(ctx, { topic: "t" });
  void notAPromise;

  const up = await greeter.upload(ctx, [{ chunk: "a" }, { chunk: "b" }]);
  const bytes: number = up.bytes;
  void bytes;
  // @ts-expect-error client-streaming takes an iterable of requests, not one request
  await greeter.upload(ctx, { chunk: "a" });

  const chat = await greeter.chat(ctx);
  await chat.send({ text: "hi" });
  // @ts-expect-error a bidi stream sends { text: string }
  await chat.send({ body: "hi" });
  for await (const m of chat) {
    // @ts-expect-error bidi responses are { text: string }
    const n: number = m.text;
    void n;
  }

  // Types inferred from the zod schemas.
  const c = await greeter.checked(ctx, { name: "Ada", age: 36 });
  const ok: boolean = c.ok;
  void ok;
  // @ts-expect-error `age` is a number in the schema
  await greeter.checked(ctx, { name: "Ada", age: "36" });
  // @ts-expect-error `age` is required by the schema
  await greeter.checked(ctx, { name: "Ada" });
}

export function serverSide() {
  const good = implement(Greeter, {
    hello: async (_ctx, req) => ({ greeting: `hello ${req.name}` }),
    async *watch(_ctx, req) {
      yield { seq: req.topic.length };
    },
    async upload(_ctx, reqs) {
      let bytes = 0;
      for await (const r of reqs) bytes += r.chunk.length;
      return { bytes };
    },
    async *chat(_ctx, reqs) {
      for await (const r of reqs) yield { text: r.text };
    },
    checked: async (_ctx, req) => ({ ok: req.age > 0 && req.name.length > 0 }),
  });
  void good;

  // @ts-expect-error a handler is missing (chat, checked)
  implement(Greeter, {
    hello: async () => ({ greeting: "" }),
    async *watch() {},
    upload: async () => ({ bytes: 0 }),
  });

  implement(Greeter, {
    // @ts-expect-error the response has the wrong shape
    hello: async () => ({ greting: "" }),
    async *watch() {},
    upload: async () => ({ bytes: 0 }),
    async *chat() {},
    checked: async () => ({ ok: true }),
  });

  implement(Greeter, {
    hello: async () => ({ greeting: "" }),
    // @ts-expect-error a server-streaming handler must return an async iterable
    watch: async () => ({ seq: 1 }),
    upload: async () => ({ bytes: 0 }),
    async *chat() {},
    checked: async () => ({ ok: true }),
  });

  implement(Greeter, {
    hello: async () => ({ greeting: "" }),
    async *watch() {},
    upload: async () => ({ bytes: 0 }),
    async *chat() {},
    checked: async () => ({ ok: true }),
    // @ts-expect-error an endpoint the contract does not have
    extra: async () => ({}),
  });

  implement(Greeter, {
    // @ts-expect-error the request has no field `nam`
    hello: async (_ctx, req) => ({ greeting: req.nam }),
    async *watch() {},
    upload: async () => ({ bytes: 0 }),
    async *chat() {},
    checked: async () => ({ ok: true }),
  });
}
