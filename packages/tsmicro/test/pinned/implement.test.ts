/**
 * Pinned behaviours of a contract's server side (contract/implement.ts), mounted on recording
 * targets: unknown and missing handlers refused by name; each endpoint mounted under its wire
 * name with its kind; handlers called on their object; requests validated (400) and responses
 * checked (500) with the serving service's id, or the contract's name outside a server; binary
 * wire formats decoded and encoded (plain values through fromValue/toValue); decode failures
 * that say what failed, for unary calls and every stream kind.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { background, type Context, createContext } from "../../src/context.js";
import {
  bidiStream,
  clientStream,
  defineContract,
  serverStream,
  unary,
} from "../../src/contract/contract.js";
import { implement } from "../../src/contract/implement.js";
import type { StandardSchemaV1 } from "../../src/contract/standard-schema.js";
import { MOUNT, type StreamHandlerFn } from "../../src/server/stream-server.js";
import { extendChain } from "../../src/util/hop.js";
import { microError } from "../helpers.js";
import { byte, bytesOnly, type Msg } from "../support/byte-serde.js";

/** A schema that wants `{ n: number }` (and, for responses, n below 100). */
const schema = (max = Number.POSITIVE_INFINITY): StandardSchemaV1<unknown, Msg> => ({
  "~standard": {
    version: 1,
    vendor: "pinned",
    validate: (v) =>
      typeof (v as Msg)?.n === "number" && (v as Msg).n < max
        ? { value: v as Msg }
        : { issues: [{ message: "bad n", path: ["n"] }] },
  },
});

interface Mounted {
  names: string[];
  unary: Map<string, (ctx: Context, request: unknown) => unknown>;
  stream: Map<string, { kind: string; handler: StreamHandlerFn }>;
}

function mount(m: ReturnType<typeof implement>): Mounted {
  const out: Mounted = { names: [], unary: new Map(), stream: new Map() };
  out.names = m[MOUNT]({
    unary: (name, handler) => out.unary.set(name, handler),
    stream: (name, kind, handler) => out.stream.set(name, { kind, handler }),
  });
  return out;
}

/** A context as a server builds it: the last hop is `service.endpoint@node`. */
const served = (service: string): Context =>
  createContext({
    signal: new AbortController().signal,
    deadline: undefined,
    metadata: {},
    chain: extendChain(["web.Home.index@w1"], { service, endpoint: "Calc.add", node: "n1" }),
  });

/** What the handler failed with. */
const failure = (p: unknown) => microError(Promise.resolve(p), "the handler to fail");

async function* from<T>(...xs: T[]): AsyncIterable<T> {
  for (const x of xs) yield x;
}
async function collect(it: unknown): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const x of it as AsyncIterable<unknown>) out.push(x);
  return out;
}

const Calc = defineContract("Calc", {
  add: unary<Msg, Msg>({ request: schema(), response: schema(100) }),
  count: serverStream<Msg, Msg>({ name: "Count" }),
  sum: clientStream<Msg, Msg>({ request: schema() }),
  echo: bidiStream<Msg, Msg>(),
});

class CalcImpl {
  step = 1;
  async add(_ctx: Context, r: Msg) {
    return { n: r.n + this.step };
  }
  async *count(_ctx: Context, r: Msg) {
    for (let i = 0; i < r.n; i++) yield { n: i * this.step };
  }
  async sum(_ctx: Context, rs: AsyncIterable<Msg>) {
    let n = 0;
    for await (const r of rs) n += r.n;
    return { n };
  }
  async *echo(_ctx: Context, rs: AsyncIterable<Msg>) {
    for await (const r of rs) yield r;
  }
}

describe("implement (pinned)", { timeout: 10_000 }, () => {
  it("refuses an unknown handler and a missing one, by name", () => {
    const Small = defineContract("Small", { a: unary(), b: unary() });
    const a = async () => ({});
    assert.throws(
      () => implement(Small, { a, b: a, c: a } as never),
      (e: unknown) =>
        e instanceof TypeError && e.message === 'implement(Small): "c" is not an endpoint of the contract',
    );
    assert.throws(
      () => implement(Small, { a } as never),
      (e: unknown) => e instanceof TypeError && e.message === 'implement(Small): no handler for endpoint "b"',
    );
    assert.throws(() => implement(Small, { a, b: 5 } as never), /no handler for endpoint "b"/);
    // An instance's own state is not a handler: only an extra function is refused.
    implement(Small, { a, b: a, db: { url: "x" }, retries: 3 } as never);
  });

  it("mounts every endpoint under its wire name with its kind; handlers run on their object", async () => {
    const m = mount(implement(Calc, new CalcImpl()));
    assert.deepEqual(m.names, ["Calc.add", "Calc.Count", "Calc.sum", "Calc.echo"]);
    assert.deepEqual([...m.unary.keys()], ["Calc.add"]);
    assert.deepEqual(
      [...m.stream].map(([name, s]) => [name, s.kind]),
      [
        ["Calc.Count", "server"],
        ["Calc.sum", "client"],
        ["Calc.echo", "bidi"],
      ],
    );
    const impl = new CalcImpl();
    impl.step = 10;
    const bound = mount(implement(Calc, impl));
    assert.deepEqual(await bound.unary.get("Calc.add")!(background(), { n: 1 }), { n: 11 });
    assert.deepEqual(await collect(bound.stream.get("Calc.Count")!.handler(background(), { n: 3 })), [
      { n: 0 },
      { n: 10 },
      { n: 20 },
    ]);
    assert.deepEqual(await bound.stream.get("Calc.sum")!.handler(background(), from({ n: 2 }, { n: 3 })), {
      n: 5,
    });
    assert.deepEqual(
      await collect(bound.stream.get("Calc.echo")!.handler(background(), from({ n: 4 }, { n: 5 }))),
      [{ n: 4 }, { n: 5 }],
    );
  });

  it("a bad request is a 400 and a bad response a 500, from the serving service (the contract outside a server)", async () => {
    const add = mount(implement(Calc, new CalcImpl())).unary.get("Calc.add")!;
    const direct = await failure(add(background(), { n: "x" }));
    assert.equal(direct.code, 400);
    assert.equal(direct.id, "Calc");
    assert.match(direct.detail, /^invalid request for Calc\.add: /);
    const inServer = await failure(add(served("calc-svc"), { n: "x" }));
    assert.equal(inServer.id, "calc-svc");
    const response = await failure(add(served("calc-svc"), { n: 99 }));
    assert.equal(response.code, 500);
    assert.equal(response.id, "calc-svc");
    assert.match(response.detail, /^invalid response for Calc\.add: /);
    assert.equal((await failure(add(background(), { n: 99 }))).id, "Calc");

    const sum = mount(implement(Calc, new CalcImpl())).stream.get("Calc.sum")!.handler;
    const bad = await failure(sum(served("calc-svc"), from({ n: 1 }, { n: "two" })));
    assert.equal(bad.code, 400);
    assert.match(bad.detail, /^invalid request for Calc\.sum: /);
  });

  it("a binary endpoint decodes bytes and answers bytes; a plain value goes through fromValue and toValue", async () => {
    const Bin = defineContract("Bin", {
      inc: unary<Msg, Msg>({ wire: { contentType: "application/x-byte", request: byte, response: byte } }),
      raw: unary<Msg, Msg>({
        wire: { contentType: "application/x-byte", request: bytesOnly, response: bytesOnly },
      }),
    });
    const inc = async (_ctx: Context, m: Msg) => ({ n: m.n + 1 });
    const m = mount(implement(Bin, { inc, raw: inc }));
    const call = m.unary.get("Bin.inc")!;
    assert.deepEqual(await call(background(), Uint8Array.of(4)), Uint8Array.of(5));
    assert.deepEqual(await call(background(), { n: "6" }), { n: 7, plain: true });
    const raw = m.unary.get("Bin.raw")!;
    assert.deepEqual(
      await raw(background(), { n: 1 }),
      { n: 2 },
      "no converters: the plain value as is, both ways",
    );
    assert.deepEqual(await raw(background(), Uint8Array.of(8)), Uint8Array.of(9));

    const bytes = await failure(call(served("bin-svc"), Uint8Array.of(1, 2)));
    assert.equal(bytes.code, 400);
    assert.equal(bytes.id, "bin-svc");
    assert.equal(bytes.retryable, false);
    assert.equal(
      bytes.detail,
      "cannot decode the request of Bin.inc as application/x-byte: want 1 byte, got 2",
    );
    assert.deepEqual(
      [...bytes.chain],
      ["web.Home.index@w1", "calc-svc.Calc.add@n1"].map((h) => h.replace("calc-svc", "bin-svc")),
    );
    const plain = await failure(call(background(), { bad: true }));
    assert.equal(plain.id, "Bin");
    assert.equal(plain.detail, "cannot decode the request of Bin.inc as a plain value: not a message");
  });

  it("binary streams: every message decoded and every answer encoded, whatever the kind", async () => {
    const wire = { contentType: "application/x-byte", request: byte, response: byte };
    const S = defineContract("S", {
      down: serverStream<Msg, Msg>({ wire }),
      up: clientStream<Msg, Msg>({ wire }),
      both: bidiStream<Msg, Msg>({ wire }),
    });
    const m = mount(
      implement(S, {
        async *down(_ctx, r) {
          yield r;
          yield { n: r.n * 2 };
        },
        async up(_ctx, rs) {
          let n = 0;
          for await (const r of rs) n += r.n;
          return { n };
        },
        async *both(_ctx, rs) {
          for await (const r of rs) yield { n: r.n + 100 };
        },
      }),
    );
    const h = (name: string) => m.stream.get(name)!.handler;
    assert.deepEqual(await collect(h("S.down")(background(), Uint8Array.of(3))), [
      Uint8Array.of(3),
      Uint8Array.of(6),
    ]);
    assert.deepEqual(
      await h("S.up")(background(), from(Uint8Array.of(1), Uint8Array.of(2))),
      Uint8Array.of(3),
    );
    assert.deepEqual(await collect(h("S.both")(background(), from(Uint8Array.of(1)))), [Uint8Array.of(101)]);
    const e = await failure(collect(h("S.both")(background(), from(Uint8Array.of(1, 1)))));
    assert.equal(e.detail, "cannot decode the request of S.both as application/x-byte: want 1 byte, got 2");
  });
});
