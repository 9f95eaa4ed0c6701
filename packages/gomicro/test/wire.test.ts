/**
 * tsmicro on go-micro's wire without Go in the loop: cancellation reaching the handler,
 * multiplexing between tsmicro peers, and bad input answered with a MicroError while the
 * server keeps serving.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, test } from "node:test";
import {
  background,
  type Context,
  createMemoryRegistry,
  MicroError,
  newClient,
  newRequest,
  newService,
  withCancel,
  withTimeout,
} from "tsmicro";
import { waitFor } from "tsmicro/testing";
import { createGoMicroTransport } from "../src/index.js";

const transport = createGoMicroTransport({ maxBodyBytes: 1024, log: () => {} });
let started = 0;
let cancelled: unknown;
const service = newService({ name: "wire", registry: createMemoryRegistry(), transport });
service.handle(
  new (class Wire {
    async Echo(_ctx: Context, req: unknown) {
      return req;
    }
    async Wait(ctx: Context) {
      started++;
      await new Promise<void>((resolve) => {
        ctx.signal.addEventListener("abort", () => {
          cancelled = ctx.signal.reason;
          resolve();
        });
      });
      return {};
    }
  })(),
);
await service.start();
const client = newClient({ transport, registry: createMemoryRegistry(), retries: 0 });
after(async () => {
  await client.close();
  await service.stop();
});

test("a caller's cancel reaches the tsmicro handler over a shared go-micro-wire socket", async () => {
  // Warm the connection so the call below shares a multiplexed socket.
  assert.deepEqual(
    await client.call(background(), newRequest("wire", "Wire.Echo", { a: 1 }), { address: service.address }),
    { a: 1 },
  );
  const [ctx, cancel] = withCancel(background());
  const call = client.call(ctx, newRequest("wire", "Wire.Wait", {}), { address: service.address });
  await waitFor("the handler to start", 5000, async () => (started > 0 ? true : undefined));
  cancel("the test gave up");
  const err = await call.then(
    () => assert.fail("the cancelled call succeeded"),
    (e: unknown) => e as MicroError,
  );
  assert.ok(err instanceof MicroError);
  await waitFor("the handler's context to be cancelled", 5000, async () =>
    cancelled !== undefined ? true : undefined,
  );
  assert.match(MicroError.from(cancelled).detail, /cancel/);
});

test("200 concurrent calls between tsmicro peers each get their own answer (matched by Micro-Id)", async () => {
  const before = service.inflight().length;
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      client.call(withTimeout(background(), 10_000), newRequest("wire", "Wire.Echo", { i }), {
        address: service.address,
      }),
    ),
  );
  assert.deepEqual(
    results,
    Array.from({ length: 200 }, (_, i) => ({ i })),
  );
  assert.equal(service.inflight().length, before);
});

/**
 * Writes raw bytes on a fresh socket and returns what the server answered: everything until
 * it closes, or until `complete(out)` says the answer is all there (the socket stays open).
 */
function raw(bytes: string, complete: (out: string) => boolean = () => false): Promise<string> {
  const [host, port] = service.address.split(":");
  return new Promise((resolve, reject) => {
    const s = connect({ host, port: Number(port) });
    let out = "";
    const t = setTimeout(() => {
      s.destroy();
      reject(
        new Error(
          `no answer within 5 s to ${JSON.stringify(bytes.slice(0, 40))}; got ${JSON.stringify(out)}`,
        ),
      );
    }, 5000);
    s.on("data", (d) => {
      out += d.toString("latin1");
      if (complete(out)) {
        clearTimeout(t);
        s.destroy();
        resolve(out);
      }
    });
    s.on("close", () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on("error", () => {});
    s.write(bytes);
  });
}

test("a malformed message gets a 400 MicroError naming the problem, and the server keeps serving", async () => {
  const answer = await raw("NOT HTTP AT ALL\r\n\r\n");
  assert.match(answer, /^HTTP\/1\.1 400 /);
  const header = /Micro-Error: (.*)\r\n/.exec(answer)?.[1];
  assert.ok(header, answer);
  const err = JSON.parse(header);
  assert.equal(err.code, 400);
  assert.match(err.detail, /bad HTTP request line/);
  assert.deepEqual(
    await client.call(background(), newRequest("wire", "Wire.Echo", { ok: true }), {
      address: service.address,
    }),
    { ok: true },
  );
});

test("an oversized body gets a 413 MicroError before it is read", async () => {
  const answer = await raw(
    "POST / HTTP/1.1\r\nHost: x\r\nMicro-Service: wire\r\nMicro-Endpoint: Wire.Echo\r\nContent-Length: 999999\r\n\r\n",
  );
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.match(answer, /larger than the limit of 1024/);
});

test("a proto-rpc envelope whose frames do not add up gets a 400 MicroError saying so", async () => {
  // The header frame claims 100 bytes; 3 follow. (ASCII only: raw() writes a string.)
  const body = "\u0000\u0000\u0000dabc";
  const answer = await raw(
    `POST / HTTP/1.1\r\nHost: x\r\nMicro-Id: 1\r\nMicro-Service: wire\r\nMicro-Endpoint: Wire.Echo\r\nContent-Type: application/proto-rpc\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    (out) => out.includes("\r\n\r\n"),
  );
  const header = /Micro-Error: (.*)\r\n/.exec(answer)?.[1];
  assert.ok(header, answer);
  const err = JSON.parse(header);
  assert.equal(err.code, 400);
  assert.match(err.detail, /proto-rpc request: frame 1 says 100 bytes, 3 follow/);
});
