// Unary echo load generator over gRPC, config.client = "tsmicro" or "grpc-js" (the unary bench's
// grpc-js call). Each job: warm-up, then the measured window, reported with this process's CPU
// time per call, which load on the machine disturbs far less than calls per second.
import { createInterface } from "node:readline";
import grpc from "@grpc/grpc-js";
import { createGrpcTransport } from "@tsmicro/grpc";
import { withProtobuf } from "@tsmicro/protobuf";
import { background, createMemoryRegistry, newClient, newRequest } from "tsmicro";
import { echoService } from "../lib/grpc-echo.mjs";
import { childConfig, payloadBytes, report, runLoad } from "../lib/stats.mjs";

const { address, client: kind } = childConfig();

function grpcJs() {
  const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");
  const client = new EchoClient(address, grpc.credentials.createInsecure());
  const makeCall = (size) => {
    const payload = payloadBytes(size);
    return () =>
      new Promise((resolve, reject) => {
        client.Echo(payload, { deadline: Date.now() + 10_000 }, (err, rsp) => {
          if (err) reject(err);
          else if (rsp.length !== size) reject(new Error("grpc-js: wrong echo size"));
          else resolve();
        });
      });
  };
  return { makeCall, close: () => client.close() };
}

function tsmicro() {
  const client = newClient({
    registry: createMemoryRegistry(),
    transport: createGrpcTransport(),
    codecs: withProtobuf(),
    contentType: "application/protobuf",
    requestTimeoutMs: 10_000,
    retries: 0,
    poolSize: 1,
    trackInflight: false,
  });
  const ctx = background();
  const options = { address };
  const makeCall = (size) => {
    const req = newRequest("bench", "bench.Echo.Echo", payloadBytes(size));
    return async () => {
      const rsp = await client.call(ctx, req, options);
      if (rsp.length !== size) throw new Error("tsmicro: wrong echo size");
    };
  };
  return { makeCall, close: () => client.close() };
}

const stack = kind === "grpc-js" ? grpcJs() : tsmicro();
await stack.makeCall(1)(); // connected before the first job
report({ type: "ready" });
for await (const line of createInterface({ input: process.stdin })) {
  const job = JSON.parse(line);
  try {
    const call = stack.makeCall(job.payloadSize);
    await runLoad(call, { concurrency: job.concurrency, warmupMs: 0, durationMs: job.warmupMs });
    // The parent reads the server's CPU clock on "warm" and on "result", around the measured window.
    report({ type: "warm" });
    const cpu0 = process.cpuUsage();
    const r = await runLoad(call, { concurrency: job.concurrency, warmupMs: 0, durationMs: job.durationMs });
    const cpu = process.cpuUsage(cpu0);
    report({ type: "result", ...r, clientCpuUs: (cpu.user + cpu.system) / Math.max(1, r.count) });
  } catch (err) {
    report({ type: "error", error: String(err?.stack ?? err) });
  }
}
await stack.close();
process.exit(0);
