// Streaming throughput: one server-streaming download consumed as fast as it comes for the job's
// duration, then cancelled. config.client = "grpc-js" or "tsmicro" (tsmicro: config.transport tcp|grpc).
import { createInterface } from "node:readline";
import grpc from "@grpc/grpc-js";
import { createGrpcTransport } from "@tsmicro/grpc";
import { withProtobuf } from "@tsmicro/protobuf";
import { background, createMemoryRegistry, newClient, newRequest } from "tsmicro";
import { childConfig, report } from "../lib/stats.mjs";
import { benchService, downloadRequest } from "./services.mjs";

const { address, client: kind, transport } = childConfig();
const FOREVER = 0xffff_ffff;

let download; // (size, ms) => { messages, bytes, seconds }
let close;
if (kind === "grpc-js") {
  const Client = grpc.makeGenericClientConstructor(benchService, "Bench");
  const client = new Client(address, grpc.credentials.createInsecure());
  close = () => client.close();
  download = (size, ms) =>
    new Promise((resolve, reject) => {
      const call = client.Download(downloadRequest(FOREVER, size));
      let messages = 0;
      let bytes = 0;
      const started = performance.now();
      const timer = setTimeout(() => {
        const seconds = (performance.now() - started) / 1000;
        call.cancel();
        resolve({ messages, bytes, seconds });
      }, ms);
      call.on("data", (m) => {
        messages++;
        bytes += m.length;
      });
      call.on("error", (err) => {
        if (err.code !== grpc.status.CANCELLED) {
          clearTimeout(timer);
          reject(err);
        }
      });
    });
} else {
  const client = newClient({
    registry: createMemoryRegistry(),
    transport: transport === "grpc" ? createGrpcTransport() : undefined,
    codecs: withProtobuf(),
    contentType: "application/protobuf",
    retries: 0,
    trackInflight: false,
  });
  close = () => client.close();
  download = async (size, ms) => {
    const s = await client.stream(
      background(),
      newRequest("bench", "bench.Stream.Download", downloadRequest(FOREVER, size)),
      { address },
    );
    s.closeSend();
    let messages = 0;
    let bytes = 0;
    const started = performance.now();
    const end = started + ms;
    for await (const m of s) {
      messages++;
      bytes += m.length;
      if ((messages & 63) === 0 && performance.now() >= end) break; // leaving the loop cancels the stream
    }
    return { messages, bytes, seconds: (performance.now() - started) / 1000 };
  };
}

report({ type: "ready" });
for await (const line of createInterface({ input: process.stdin })) {
  const job = JSON.parse(line);
  try {
    if (job.warmupMs > 0) await download(job.size, job.warmupMs);
    const r = await download(job.size, job.durationMs);
    report({ type: "result", ...r, mps: r.messages / r.seconds, mbps: r.bytes / r.seconds / 1e6 });
  } catch (err) {
    report({ type: "error", error: String(err?.stack ?? err) });
  }
}
await close();
process.exit(0);
