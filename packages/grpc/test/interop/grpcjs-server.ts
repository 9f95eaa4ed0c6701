/** grpc.testing.TestService on @grpc/grpc-js, as grpc-node's interop server does it. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const protoDir = join(dirname(fileURLToPath(import.meta.url)), "..", "proto");

export function loadTestProto(): any {
  const def = protoLoader.loadSync("grpc/testing/test.proto", {
    includeDirs: [protoDir],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
  });
  return grpc.loadPackageDefinition(def).grpc;
}

type EchoStatus = { code: number; message: string } | null | undefined;

function statusError(s: EchoStatus): grpc.ServiceError | undefined {
  if (s === null || s === undefined || s.code === 0) return undefined;
  return Object.assign(new Error(s.message), {
    code: s.code,
    details: s.message,
    metadata: new grpc.Metadata(),
  });
}

function echo(
  call:
    | grpc.ServerUnaryCall<any, any>
    | grpc.ServerDuplexStream<any, any>
    | grpc.ServerWritableStream<any, any>,
) {
  const initial = call.metadata.get("x-grpc-test-echo-initial");
  if (initial.length > 0) {
    const md = new grpc.Metadata();
    md.set("x-grpc-test-echo-initial", initial[0]!);
    call.sendMetadata(md);
  }
  const trailing = call.metadata.get("x-grpc-test-echo-trailing-bin");
  const trailer = new grpc.Metadata();
  if (trailing.length > 0) trailer.set("x-grpc-test-echo-trailing-bin", trailing[0]!);
  return trailer;
}

export async function startGrpcJsServer(tls?: { cert: Buffer; key: Buffer; ca: Buffer }) {
  const proto = loadTestProto();
  const server = new grpc.Server();
  const payload = (size: number) => ({ type: "COMPRESSABLE", body: Buffer.alloc(size) });
  server.addService(proto.testing.TestService.service, {
    emptyCall: (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
      const trailer = echo(call);
      cb(null, {}, trailer);
    },
    unaryCall: (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
      const trailer = echo(call);
      const err = statusError(call.request.responseStatus);
      if (err !== undefined) return cb(Object.assign(err, { metadata: trailer }));
      cb(null, { payload: payload(call.request.responseSize) }, trailer);
    },
    streamingOutputCall: (call: grpc.ServerWritableStream<any, any>) => {
      const trailer = echo(call);
      for (const p of call.request.responseParameters) call.write({ payload: payload(p.size) });
      const err = statusError(call.request.responseStatus);
      if (err !== undefined) call.emit("error", Object.assign(err, { metadata: trailer }));
      else call.end(trailer);
    },
    streamingInputCall: (call: grpc.ServerReadableStream<any, any>, cb: grpc.sendUnaryData<any>) => {
      let aggregatedPayloadSize = 0;
      call.on("data", (r: any) => {
        aggregatedPayloadSize += r.payload?.body?.length ?? 0;
      });
      call.on("end", () => cb(null, { aggregatedPayloadSize }));
      call.on("error", () => {});
    },
    fullDuplexCall: (call: grpc.ServerDuplexStream<any, any>) => {
      const trailer = echo(call);
      call.on("data", (req: any) => {
        const err = statusError(req.responseStatus);
        if (err !== undefined) call.emit("error", Object.assign(err, { metadata: trailer }));
        else for (const p of req.responseParameters) call.write({ payload: payload(p.size) });
      });
      call.on("end", () => call.end(trailer));
      call.on("error", () => {});
    },
  });
  const creds =
    tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], false);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    forceStop: () => server.forceShutdown(),
  };
}
