/**
 * The interop cases (grpc/grpc doc/interop-test-descriptions.md) with a tsmicro client and
 * the typed proxy of the protoc-gen-es generated TestService. Each throws on a failed check.
 */
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { contractFromService } from "@tsmicro/protobuf";
import { background, type MicroError, type ServiceProxy, withMetadata, withTimeout } from "tsmicro";
import { GrpcStatus, grpcStatusOf } from "../../src/status.js";
import { EmptySchema } from "../gen/grpc/testing/empty_pb.js";
import {
  SimpleRequestSchema,
  StreamingInputCallRequestSchema,
  StreamingOutputCallRequestSchema,
} from "../gen/grpc/testing/messages_pb.js";
import { UnimplementedService } from "../gen/grpc/testing/test_pb.js";
import type { TestServiceContract } from "./tsmicro-server.js";

export const UnimplementedContract = contractFromService(UnimplementedService);
export type TestServiceProxy = ServiceProxy<(typeof TestServiceContract)["endpoints"]>;
export type UnimplementedProxy = ServiceProxy<(typeof UnimplementedContract)["endpoints"]>;
export type Case = (client: TestServiceProxy, unimplementedService: UnimplementedProxy) => Promise<void>;

const ctx = background();
const sizes = { req: [27182, 8, 1828, 45904], rsp: [31415, 9, 2653, 58979] };
const payload = (n: number) => ({ body: new Uint8Array(n) });
const simple = (init: Parameters<typeof create<typeof SimpleRequestSchema>>[1]) =>
  create(SimpleRequestSchema, init);
const output = (init: Parameters<typeof create<typeof StreamingOutputCallRequestSchema>>[1]) =>
  create(StreamingOutputCallRequestSchema, init);

function rejectsWith(p: Promise<unknown>, status: GrpcStatus, detail?: string) {
  return assert.rejects(p, (e: MicroError) => {
    assert.equal(
      grpcStatusOf(e.code),
      status,
      `MicroError ${e.code} (${e.detail}), expected gRPC status ${status}`,
    );
    if (detail !== undefined) assert.equal(e.detail, detail);
    return true;
  });
}

export const tsmicroCases: Record<string, Case> = {
  async empty_unary(c) {
    const rsp = await c.emptyCall(ctx, create(EmptySchema));
    assert.equal(rsp.$typeName, "grpc.testing.Empty");
  },
  async large_unary(c) {
    const rsp = await c.unaryCall(ctx, simple({ responseSize: 314159, payload: payload(271828) }));
    assert.equal(rsp.payload?.body.length, 314159);
    assert.ok(rsp.payload!.body.every((b) => b === 0));
  },
  async client_streaming(c) {
    const reqs = sizes.req.map((n) => create(StreamingInputCallRequestSchema, { payload: payload(n) }));
    const rsp = await c.streamingInputCall(ctx, reqs);
    assert.equal(rsp.aggregatedPayloadSize, 74922);
  },
  async server_streaming(c) {
    const got: number[] = [];
    const req = output({ responseParameters: sizes.rsp.map((size) => ({ size })) });
    for await (const m of c.streamingOutputCall(ctx, req)) got.push(m.payload!.body.length);
    assert.deepEqual(got, sizes.rsp);
  },
  async ping_pong(c) {
    const s = await c.fullDuplexCall(ctx);
    for (let i = 0; i < 4; i++) {
      await s.send(
        output({ responseParameters: [{ size: sizes.rsp[i]! }], payload: payload(sizes.req[i]!) }),
      );
      const r = await s.recv();
      assert.equal(r?.payload?.body.length, sizes.rsp[i]);
    }
    s.closeSend();
    assert.equal(await s.recv(), undefined);
  },
  async empty_stream(c) {
    const s = await c.fullDuplexCall(ctx);
    s.closeSend();
    const got: unknown[] = [];
    for await (const m of s) got.push(m);
    assert.equal(got.length, 0);
  },
  async cancel_after_begin(c) {
    const controller = new AbortController();
    // Requests that never come: the call is open, nothing sent, then cancelled.
    const never = (async function* () {
      await new Promise(() => {});
    })();
    const call = c.streamingInputCall(ctx, never, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await rejectsWith(call, GrpcStatus.CANCELLED);
  },
  async cancel_after_first_response(c) {
    const s = await c.fullDuplexCall(ctx);
    await s.send(output({ responseParameters: [{ size: 31415 }], payload: payload(27182) }));
    assert.equal((await s.recv())?.payload?.body.length, 31415);
    s.close();
    assert.equal(grpcStatusOf((await s.finished)!.code), GrpcStatus.CANCELLED);
    await rejectsWith(s.recv(), GrpcStatus.CANCELLED);
  },
  async timeout_on_sleeping_server(c) {
    await rejectsWith(
      (async () => {
        const s = await c.fullDuplexCall(withTimeout(ctx, 1));
        await s.send(output({ payload: payload(27182) }));
        for await (const _ of s) {
          /* the server sends nothing back in time */
        }
      })(),
      GrpcStatus.DEADLINE_EXCEEDED,
    );
  },
  async custom_metadata(c) {
    const trailing = Buffer.from([0xab, 0xab, 0xab]).toString("base64");
    const mctx = withMetadata(ctx, {
      "x-grpc-test-echo-initial": "test_initial_metadata_value",
      "x-grpc-test-echo-trailing-bin": trailing,
    });
    const responseMetadata = { header: {} as Record<string, string>, trailer: {} as Record<string, string> };
    const rsp = await c.unaryCall(mctx, simple({ responseSize: 314159, payload: payload(271828) }), {
      responseMetadata,
    });
    assert.equal(rsp.payload?.body.length, 314159);
    assert.equal(responseMetadata.header["x-grpc-test-echo-initial"], "test_initial_metadata_value");
    assert.deepEqual(
      Buffer.from(responseMetadata.trailer["x-grpc-test-echo-trailing-bin"]!, "base64"),
      Buffer.from([0xab, 0xab, 0xab]),
    );

    const s = await c.fullDuplexCall(mctx);
    await s.send(output({ responseParameters: [{ size: 314159 }], payload: payload(271828) }));
    s.closeSend();
    for await (const m of s) assert.equal(m.payload?.body.length, 314159);
    assert.equal(s.header["x-grpc-test-echo-initial"], "test_initial_metadata_value");
    assert.deepEqual(
      Buffer.from(s.trailer["x-grpc-test-echo-trailing-bin"]!, "base64"),
      Buffer.from([0xab, 0xab, 0xab]),
    );
  },
  async status_code_and_message(c) {
    const responseStatus = { code: 2, message: "test status message" };
    await rejectsWith(
      c.unaryCall(ctx, simple({ responseStatus })),
      GrpcStatus.UNKNOWN,
      "test status message",
    );
    const s = await c.fullDuplexCall(ctx);
    await s.send(output({ responseStatus }));
    s.closeSend();
    await rejectsWith(
      (async () => {
        for await (const _ of s) {
          /* no messages, then the status */
        }
      })(),
      GrpcStatus.UNKNOWN,
      "test status message",
    );
  },
  async special_status_message(c) {
    const message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
    await rejectsWith(
      c.unaryCall(ctx, simple({ responseStatus: { code: 2, message } })),
      GrpcStatus.UNKNOWN,
      message,
    );
  },
  async unimplemented_service(_c, other) {
    await rejectsWith(other.unimplementedCall(ctx, create(EmptySchema)), GrpcStatus.UNIMPLEMENTED);
  },
  async unimplemented_method(c) {
    await rejectsWith(c.unimplementedCall(ctx, create(EmptySchema)), GrpcStatus.UNIMPLEMENTED);
  },
};
