/**
 * The interop cases (grpc/grpc doc/interop-test-descriptions.md) with @grpc/grpc-js as the
 * client. Each throws on a failed check.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";

export type Case = (client: any, unimplementedService: any) => Promise<void>;

const sizes = { req: [27182, 8, 1828, 45904], rsp: [31415, 9, 2653, 58979] };
const payload = (n: number) => ({ body: Buffer.alloc(n) });

function unary(
  client: any,
  method: string,
  req: unknown,
  md = new grpc.Metadata(),
  opts: grpc.CallOptions = {},
) {
  let header: grpc.Metadata | undefined;
  let status: grpc.StatusObject | undefined;
  return new Promise<{ rsp: any; header?: grpc.Metadata; trailer?: grpc.Metadata }>((resolve, reject) => {
    const call = client[method](req, md, opts, (err: grpc.ServiceError | null, rsp: any) => {
      if (err) reject(err);
      else setImmediate(() => resolve({ rsp, header, trailer: status?.metadata }));
    });
    call.on("metadata", (m: grpc.Metadata) => {
      header = m;
    });
    call.on("status", (s: grpc.StatusObject) => {
      status = s;
    });
  });
}

function statusOf(call: grpc.ClientDuplexStream<any, any> | grpc.ClientReadableStream<any>) {
  return new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
}

function rejectsWith(p: Promise<unknown>, code: grpc.status, details?: string) {
  return assert.rejects(p, (e: grpc.ServiceError) => {
    assert.equal(e.code, code, `status ${e.code} (${e.details}), expected ${code}`);
    if (details !== undefined) assert.equal(e.details, details);
    return true;
  });
}

export const grpcJsCases: Record<string, Case> = {
  async empty_unary(c) {
    const { rsp } = await unary(c, "emptyCall", {});
    assert.deepEqual(rsp, {});
  },
  async large_unary(c) {
    const { rsp } = await unary(c, "unaryCall", { responseSize: 314159, payload: payload(271828) });
    assert.equal(rsp.payload.body.length, 314159);
    assert.ok(rsp.payload.body.every((b: number) => b === 0));
  },
  async client_streaming(c) {
    const rsp = await new Promise<any>((resolve, reject) => {
      const call = c.streamingInputCall((err: Error | null, r: any) => (err ? reject(err) : resolve(r)));
      for (const n of sizes.req) call.write({ payload: payload(n) });
      call.end();
    });
    assert.equal(rsp.aggregatedPayloadSize, 74922);
  },
  async server_streaming(c) {
    const call = c.streamingOutputCall({ responseParameters: sizes.rsp.map((size) => ({ size })) });
    const got: number[] = [];
    for await (const m of call) got.push(m.payload.body.length);
    assert.deepEqual(got, sizes.rsp);
  },
  async ping_pong(c) {
    const call: grpc.ClientDuplexStream<any, any> = c.fullDuplexCall();
    const it = call[Symbol.asyncIterator]();
    for (let i = 0; i < 4; i++) {
      call.write({ responseParameters: [{ size: sizes.rsp[i] }], payload: payload(sizes.req[i]!) });
      const r = await it.next();
      assert.equal(r.value.payload.body.length, sizes.rsp[i]);
    }
    call.end();
    assert.equal((await it.next()).done, true);
  },
  async empty_stream(c) {
    const call: grpc.ClientDuplexStream<any, any> = c.fullDuplexCall();
    call.end();
    const got: unknown[] = [];
    for await (const m of call) got.push(m);
    assert.equal(got.length, 0);
  },
  async cancel_after_begin(c) {
    const p = new Promise((resolve, reject) => {
      const call = c.streamingInputCall((err: Error | null, r: unknown) => (err ? reject(err) : resolve(r)));
      call.cancel();
    });
    await rejectsWith(p, grpc.status.CANCELLED);
  },
  async cancel_after_first_response(c) {
    const call: grpc.ClientDuplexStream<any, any> = c.fullDuplexCall();
    const status = statusOf(call);
    call.on("error", () => {});
    call.write({ responseParameters: [{ size: 31415 }], payload: payload(27182) });
    await new Promise((resolve) => call.once("data", resolve));
    call.cancel();
    assert.equal((await status).code, grpc.status.CANCELLED);
  },
  async timeout_on_sleeping_server(c) {
    const call: grpc.ClientDuplexStream<any, any> = c.fullDuplexCall({ deadline: Date.now() + 1 });
    const status = statusOf(call);
    call.on("error", () => {});
    call.on("data", () => {});
    call.write({ payload: payload(27182) });
    assert.equal((await status).code, grpc.status.DEADLINE_EXCEEDED);
  },
  async custom_metadata(c) {
    const md = () => {
      const m = new grpc.Metadata();
      m.set("x-grpc-test-echo-initial", "test_initial_metadata_value");
      m.set("x-grpc-test-echo-trailing-bin", Buffer.from([0xab, 0xab, 0xab]));
      return m;
    };
    const r = await unary(c, "unaryCall", { responseSize: 314159, payload: payload(271828) }, md());
    assert.deepEqual(r.header?.get("x-grpc-test-echo-initial"), ["test_initial_metadata_value"]);
    assert.deepEqual(r.trailer?.get("x-grpc-test-echo-trailing-bin"), [Buffer.from([0xab, 0xab, 0xab])]);

    const call: grpc.ClientDuplexStream<any, any> = c.fullDuplexCall(md());
    const header = new Promise<grpc.Metadata>((resolve) => call.on("metadata", resolve));
    const status = statusOf(call);
    call.write({ responseParameters: [{ size: 314159 }], payload: payload(271828) });
    call.end();
    for await (const m of call) assert.equal(m.payload.body.length, 314159);
    assert.deepEqual((await header).get("x-grpc-test-echo-initial"), ["test_initial_metadata_value"]);
    assert.deepEqual((await status).metadata.get("x-grpc-test-echo-trailing-bin"), [
      Buffer.from([0xab, 0xab, 0xab]),
    ]);
  },
  async status_code_and_message(c) {
    const responseStatus = { code: 2, message: "test status message" };
    await rejectsWith(unary(c, "unaryCall", { responseStatus }), 2, "test status message");
    const call: grpc.ClientDuplexStream<any, any> = c.fullDuplexCall();
    const status = statusOf(call);
    call.on("error", () => {});
    call.on("data", () => {});
    call.write({ responseStatus });
    call.end();
    const s = await status;
    assert.equal(s.code, 2);
    assert.equal(s.details, "test status message");
  },
  async special_status_message(c) {
    const message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
    await rejectsWith(unary(c, "unaryCall", { responseStatus: { code: 2, message } }), 2, message);
  },
  async unimplemented_service(_c, other) {
    await rejectsWith(unary(other, "unimplementedCall", {}), grpc.status.UNIMPLEMENTED);
  },
  async unimplemented_method(c) {
    await rejectsWith(unary(c, "unimplementedCall", {}), grpc.status.UNIMPLEMENTED);
  },
};
