/** Call logs over a real A → B chain on loopback, captured from pino's JSON lines. */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { afterEach, test } from "node:test";
import { createLogging } from "@tsmicro/logging";
import {
  background,
  type Context,
  createMemoryRegistry,
  internalServerError,
  type MicroService,
  newClient,
  newRequest,
  newService,
  withMetadata,
  withTimeout,
} from "tsmicro";

/** A pino destination that keeps the parsed lines. */
function capture() {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n")) if (l.trim() !== "") lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, stream };
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function chain(level: string) {
  const out = capture();
  const logging = createLogging({ level, destination: out.stream });
  const registry = createMemoryRegistry();
  const client = newClient({ registry, wrappers: [logging.client] });
  const b: MicroService = newService({
    name: "log-b",
    registry,
    wrappers: [logging.server],
    log: logging.log,
  });
  b.handle(
    new (class B {
      async leaf(ctx: Context, req: { fail?: boolean }) {
        logging.for(ctx).info({ step: "inside" }, "handler line");
        if (req.fail) throw internalServerError("log-b", "leaf broke");
        return { ok: true };
      }
    })(),
  );
  const a: MicroService = newService({ name: "log-a", registry, client, wrappers: [logging.server] });
  a.handle(
    new (class A {
      async root(ctx: Context, req: { fail?: boolean }) {
        return client.call(ctx, newRequest("log-b", "B.leaf", req));
      }
    })(),
  );
  await b.start();
  await a.start();
  cleanup.push(async () => {
    await a.stop();
    await b.stop();
    await client.close();
  });
  return { out, client };
}

test("every line about a call carries the request id and chain; one id across the A → B chain", async () => {
  const { out, client } = await chain("debug");
  await client.call(withTimeout(background(), 5000), newRequest("log-a", "A.root", {}));
  const calls = out.lines.filter((l) => l.reqId !== undefined);
  // test → A (client line), A server, A → B (client line), B server, B's own handler line.
  assert.equal(calls.length, 5, JSON.stringify(out.lines, null, 1));
  const ids = new Set(calls.map((l) => l.reqId));
  assert.equal(ids.size, 1, "one request id from the first hop to the last");
  assert.match([...ids][0], /^[0-9a-f-]{36}$/);
  for (const l of calls) assert.ok(Array.isArray(l.chain), `chain on: ${JSON.stringify(l)}`);
  const bServer = calls.find((l) => l.side === "server" && l.service === "log-b")!;
  assert.equal(bServer.chain.length, 2);
  assert.match(bServer.chain[0], /^log-a\.A\.root@log-a-/);
  assert.match(bServer.chain[1], /^log-b\.B\.leaf@log-b-/);
  const inside = calls.find((l) => l.msg === "handler line")!;
  assert.equal(inside.step, "inside");
  assert.deepEqual(inside.chain, bServer.chain);
  for (const l of calls.filter((x) => x.side)) assert.equal(typeof l.ms, "number");
  const lifecycle = out.lines.find((l) => /log-b .* listening on/.test(l.msg));
  assert.ok(lifecycle, "the service's lifecycle messages go to the same logger at info");
});

test("a caller's request id is kept", async () => {
  const { out, client } = await chain("debug");
  await client.call(
    withMetadata(withTimeout(background(), 5000), { "x-request-id": "abc-123" }),
    newRequest("log-a", "A.root", {}),
  );
  const ids = new Set(out.lines.filter((l) => l.reqId !== undefined).map((l) => l.reqId));
  assert.deepEqual([...ids], ["abc-123"]);
});

test("quiet by default: successes write nothing at the default level; a server error writes its lines", async () => {
  const { out, client } = await chain("warn");
  await client.call(withTimeout(background(), 5000), newRequest("log-a", "A.root", {}));
  assert.equal(out.lines.length, 0, `no line for successful calls at warn: ${JSON.stringify(out.lines)}`);
  await assert.rejects(
    client.call(withTimeout(background(), 5000), newRequest("log-a", "A.root", { fail: true }), {
      retries: 0,
    }),
  );
  const failed = out.lines.filter((l) => l.code === 500);
  assert.ok(failed.length >= 2, JSON.stringify(out.lines));
  for (const l of failed) {
    assert.equal(l.level, 50, "server errors at error level");
    assert.match(l.err.detail, /leaf broke/);
    assert.ok(l.reqId && Array.isArray(l.chain));
  }
});
