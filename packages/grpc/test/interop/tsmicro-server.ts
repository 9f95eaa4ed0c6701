/** grpc.testing.TestService implemented on tsmicro, as the interop spec asks of a server. */
import { create } from "@bufbuild/protobuf";
import { contractFromService } from "@tsmicro/protobuf";
import { type Context, implement, MicroError } from "tsmicro";
import { setResponseHeader, setResponseTrailer } from "tsmicro/plugin";
import { microCodeOf } from "../../src/status.js";
import { EmptySchema } from "../gen/grpc/testing/empty_pb.js";
import {
  type EchoStatus,
  SimpleResponseSchema,
  StreamingInputCallResponseSchema,
  type StreamingOutputCallRequest,
  StreamingOutputCallResponseSchema,
} from "../gen/grpc/testing/messages_pb.js";
import { TestService } from "../gen/grpc/testing/test_pb.js";

export const TestServiceContract = contractFromService(TestService);

const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";

/** custom_metadata: echo the initial key as response header metadata, the -bin key as a trailer. */
function echoMetadata(ctx: Context): void {
  const initial = ctx.metadata[ECHO_INITIAL];
  if (initial !== undefined) setResponseHeader(ctx, { [ECHO_INITIAL]: initial });
  const trailing = ctx.metadata[ECHO_TRAILING];
  if (trailing !== undefined) setResponseTrailer(ctx, { [ECHO_TRAILING]: trailing });
}

/** status_code_and_message: the status the client asked for, as a MicroError that maps back to it. */
function requestedStatus(s: EchoStatus | undefined): MicroError | undefined {
  if (s === undefined || s.code === 0) return undefined;
  return new MicroError({ id: "interop", code: microCodeOf(s.code), detail: s.message });
}

function payload(size: number) {
  return { body: new Uint8Array(size) };
}

async function* respond(req: StreamingOutputCallRequest) {
  for (const p of req.responseParameters) {
    if (p.intervalUs > 0) await new Promise((r) => setTimeout(r, p.intervalUs / 1000));
    yield create(StreamingOutputCallResponseSchema, { payload: payload(p.size) });
  }
}

export const testServiceImpl = implement(TestServiceContract, {
  emptyCall: async (ctx) => {
    echoMetadata(ctx);
    return create(EmptySchema);
  },
  unaryCall: async (ctx, req) => {
    echoMetadata(ctx);
    const err = requestedStatus(req.responseStatus);
    if (err !== undefined) throw err;
    return create(SimpleResponseSchema, { payload: payload(req.responseSize) });
  },
  cacheableUnaryCall: async (_ctx, req) =>
    create(SimpleResponseSchema, { payload: payload(req.responseSize) }),
  async *streamingOutputCall(ctx, req) {
    echoMetadata(ctx);
    yield* respond(req);
    const err = requestedStatus(req.responseStatus);
    if (err !== undefined) throw err;
  },
  async streamingInputCall(_ctx, reqs) {
    let aggregatedPayloadSize = 0;
    for await (const r of reqs) aggregatedPayloadSize += r.payload?.body.length ?? 0;
    return create(StreamingInputCallResponseSchema, { aggregatedPayloadSize });
  },
  async *fullDuplexCall(ctx, reqs) {
    echoMetadata(ctx);
    for await (const req of reqs) {
      const err = requestedStatus(req.responseStatus);
      if (err !== undefined) throw err;
      yield* respond(req);
    }
  },
  async *halfDuplexCall(_ctx, reqs) {
    const all: StreamingOutputCallRequest[] = [];
    for await (const req of reqs) all.push(req);
    for (const req of all) yield* respond(req);
  },
  unimplementedCall: async () => {
    throw new MicroError({
      id: "interop",
      code: 501,
      detail: "UnimplementedCall is not implemented, by design",
    });
  },
});
