import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import {
  background,
  bidiStream,
  type Context,
  createMemoryRegistry,
  defineContract,
  implement,
  MicroError,
  newClient,
  newService,
  serverStream,
  unary,
  withTimeout,
} from "tsmicro";
import {
  createGrpcTransport,
  decodeGrpcMessage,
  ERROR_TRAILER,
  encodeGrpcMessage,
  encodeTimeout,
  GrpcStatus,
  grpcStatusOf,
  microCodeOf,
  parseTimeout,
} from "../src/index.js";

describe("status and error mapping", () => {
  test("every gRPC status maps to a MicroError code and back to itself", () => {
    for (const status of Object.values(GrpcStatus)) {
      assert.equal(grpcStatusOf(microCodeOf(status)), status, `status ${status} → ${microCodeOf(status)}`);
    }
    const codes = new Set(Object.values(GrpcStatus).map(microCodeOf));
    assert.equal(codes.size, 17, "each status has its own MicroError code");
  });

  test("tsmicro's own codes land on the gRPC status that means the same", () => {
    assert.equal(grpcStatusOf(400), GrpcStatus.INVALID_ARGUMENT);
    assert.equal(grpcStatusOf(404), GrpcStatus.NOT_FOUND);
    assert.equal(grpcStatusOf(408), GrpcStatus.DEADLINE_EXCEEDED);
    assert.equal(grpcStatusOf(413), GrpcStatus.RESOURCE_EXHAUSTED);
    assert.equal(grpcStatusOf(429), GrpcStatus.RESOURCE_EXHAUSTED);
    assert.equal(grpcStatusOf(499), GrpcStatus.CANCELLED);
    assert.equal(grpcStatusOf(500), GrpcStatus.INTERNAL);
    assert.equal(grpcStatusOf(503), GrpcStatus.UNAVAILABLE);
    assert.equal(grpcStatusOf(418), GrpcStatus.UNKNOWN);
  });

  test("grpc-message percent-encoding round-trips any text", () => {
    for (const s of ["plain", "100% sure", "\t\ntab ☺ 😈 \r\n", "%41 is not A", ""]) {
      const encoded = encodeGrpcMessage(s);
      assert.match(encoded, /^[\x20-\x7e]*$/);
      assert.equal(decodeGrpcMessage(encoded), s);
    }
  });

  test("grpc-timeout units", () => {
    assert.equal(parseTimeout("5S"), 5000);
    assert.equal(parseTimeout("250m"), 250);
    assert.equal(parseTimeout("2M"), 120_000);
    assert.equal(parseTimeout("1H"), 3_600_000);
    assert.equal(parseTimeout("1500u"), 1.5);
    assert.equal(parseTimeout(undefined), undefined);
    assert.equal(encodeTimeout(1234.2), "1235m");
    assert.equal(parseTimeout(encodeTimeout(10 ** 9)), 10 ** 9);
    assert.throws(
      () => parseTimeout("123456789S"),
      (e: MicroError) => e.code === 400,
    );
    assert.throws(
      () => parseTimeout("5s"),
      (e: MicroError) => e.code === 400,
    );
  });
});

const Demo = defineContract("demo.v1.Demo", {
  echo: unary<{ text: string }, { text: string; deadlineMs?: number }>(),
  fail: unary<{ code: number }, never>(),
  count: serverStream<{ n: number; size: number }, { i: number; pad: string }>(),
  chat: bidiStream<{ text: string }, { text: string }>(),
});

describe("limits", () => {
  test("maxConcurrentStreams: the server never runs more calls per connection; the next waits for a slot", {
    timeout: 15_000,
  }, async () => {
    let running = 0;
    let started = 0;
    const Hang = defineContract("demo.v1.Hang", {
      wait: serverStream<Record<string, never>, { n: number }>(),
    });
    const registry = createMemoryRegistry();
    const service = newService({
      name: "hang",
      registry,
      transport: createGrpcTransport({ maxConcurrentStreams: 2 }),
    }).handle(
      implement(Hang, {
        async *wait(ctx) {
          running++;
          started++;
          try {
            yield { n: started };
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
          } finally {
            running--;
          }
        },
      }),
    );
    await service.start();
    const client = newClient({ registry, transport: createGrpcTransport(), retries: 0, poolSize: 1 });
    const hang = client.service(Hang, "hang");
    const call = () => {
      const controller = new AbortController();
      const first = hang.wait(background(), {}, { signal: controller.signal })[Symbol.asyncIterator]().next();
      first.catch(() => {});
      return { controller, first };
    };
    const calls = [call(), call()];
    try {
      // Once two run, the client knows the server's limit (its SETTINGS came first).
      await Promise.race([Promise.all(calls.map((c) => c.first)), sleep(5000)]);
      assert.equal(running, 2, "two calls run");
      calls.push(call());
      await sleep(300);
      assert.equal(started, 2, "the third waits for a slot (an HTTP/2 client queues over the peer's limit)");
      calls[0]!.controller.abort();
      const third = await Promise.race([calls[2]!.first, sleep(5000).then(() => undefined)]);
      assert.ok(third !== undefined && !third.done, "the third call got its slot once one ended");
      assert.equal(started, 3);
      assert.ok(running <= 2);
    } finally {
      for (const c of calls) c.controller.abort();
      await client.close();
      await service.stop();
    }
  });
});

describe("tsmicro ↔ tsmicro over gRPC (JSON content type)", { timeout: 30_000 }, () => {
  let produced = 0;
  const registry = createMemoryRegistry();
  const service = newService({ name: "demo", registry, transport: createGrpcTransport() }).handle(
    implement(Demo, {
      echo: async (ctx: Context, req) => ({
        text: req.text,
        deadlineMs: ctx.deadline === undefined ? undefined : ctx.deadline - Date.now(),
      }),
      fail: async (_ctx, req) => {
        throw new MicroError({
          id: "demo",
          code: req.code,
          detail: `failing with ${req.code} ☺`,
          retryable: false,
        });
      },
      async *count(_ctx, req) {
        const pad = "x".repeat(req.size);
        produced = 0;
        for (let i = 0; i < req.n; i++) {
          produced++;
          yield { i, pad };
        }
      },
      async *chat(_ctx, reqs) {
        for await (const r of reqs) yield { text: `re: ${r.text}` };
      },
    }),
  );
  const client = newClient({ registry, transport: createGrpcTransport(), retries: 0 });
  const demo = client.service(Demo, "demo");
  const ctx = background();
  before(() => service.start());
  after(async () => {
    await client.close();
    await service.stop();
  });

  test("unary and bidi calls over application/grpc+json", async () => {
    assert.equal((await demo.echo(ctx, { text: "hi" })).text, "hi");
    const s = await demo.chat(ctx);
    await s.send({ text: "a" });
    assert.deepEqual(await s.recv(), { text: "re: a" });
    s.closeSend();
    assert.equal(await s.recv(), undefined);
  });

  test("the caller's deadline reaches the handler through grpc-timeout", async () => {
    const r = await demo.echo(withTimeout(ctx, 3000), { text: "t" });
    assert.ok(
      r.deadlineMs !== undefined && r.deadlineMs > 2000 && r.deadlineMs <= 3000,
      `deadline ${r.deadlineMs}`,
    );
  });

  test("a MicroError crosses gRPC whole: id, code, detail, retryable and chain", async () => {
    for (const code of [400, 404, 409, 418, 503]) {
      await assert.rejects(demo.fail(ctx, { code }), (e: MicroError) => {
        assert.equal(e.code, code);
        assert.equal(e.id, "demo");
        assert.equal(e.detail, `failing with ${code} ☺`);
        assert.equal(e.retryable, false);
        assert.match(e.chain.join(), /demo\.demo\.v1\.Demo\.fail@demo-/);
        return true;
      });
    }
  });

  test("a grpc-js client sending a content type the service has no codec for gets INVALID_ARGUMENT and the MicroError trailer", async () => {
    const Client = grpc.makeGenericClientConstructor({}, "Demo");
    const c = new Client(service.address, grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        c.makeUnaryRequest(
          "/demo.v1.Demo/fail",
          (x: unknown) => Buffer.from(JSON.stringify(x)),
          (b: Buffer) => JSON.parse(b.toString()),
          { code: 404 },
          new grpc.Metadata(),
          { deadline: Date.now() + 5000 },
          (e) => resolve(e!),
        ),
      );
      // grpc-js sends application/grpc (protobuf); this service has JSON and MessagePack only.
      assert.equal(err.code, GrpcStatus.INVALID_ARGUMENT);
      assert.match(
        err.details,
        /unsupported content type "application\/protobuf"; supported: application\/json/,
      );
      const bin = err.metadata.get(ERROR_TRAILER);
      assert.equal(bin.length, 1, "the MicroError trailer is there");
      const inner = MicroError.parse(Buffer.from(bin[0] as Buffer).toString("utf8"));
      assert.equal(inner.code, 415);
      assert.equal(inner.detail, err.details);
    } finally {
      c.close();
    }
  });

  test("flow control: a reader that stops holds the server's generator back", async () => {
    const size = 16 * 1024;
    const it = demo.count(ctx, { n: 1000, size })[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) await it.next();
    await sleep(400);
    // HTTP/2 windows (stream 1 MiB here, plus socket buffers) bound what runs ahead.
    const bound = Math.ceil((4 * 1024 * 1024) / size);
    assert.ok(
      produced < bound,
      `server produced ${produced} messages while the client read 10 (bound ${bound})`,
    );
    let n = 10;
    while (!(await it.next()).done) n++;
    assert.equal(n, 1000);
  });

  test("breaking out of a server stream cancels the call on the server", async () => {
    let i = 0;
    for await (const _ of demo.count(ctx, { n: 1_000_000, size: 10 })) {
      if (++i === 5) break;
    }
    await sleep(100);
    const after = produced;
    await sleep(200);
    assert.equal(produced, after, "the server kept producing after the client left");
    assert.ok(produced < 1_000_000);
  });
});
