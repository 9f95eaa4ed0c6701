/**
 * The gRPC interop cases in both directions — grpc-js client → tsmicro server, tsmicro client →
 * grpc-js server — over plaintext HTTP/2 and over TLS (a CA made here with openssl). Prints the
 * case × direction × security table.
 */
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { withProtobuf } from "@tsmicro/protobuf";
import { createMemoryRegistry, type MicroService, newClient, newService } from "tsmicro";
import { createGrpcTransport } from "../src/index.js";
import { grpcJsCases } from "./interop/cases-grpcjs.js";
import { tsmicroCases, UnimplementedContract } from "./interop/cases-tsmicro.js";
import { makeTestCerts, type TestCerts } from "./interop/certs.js";
import { loadTestProto, startGrpcJsServer } from "./interop/grpcjs-server.js";
import { TestServiceContract, testServiceImpl } from "./interop/tsmicro-server.js";

const CASES = [
  "empty_unary",
  "large_unary",
  "client_streaming",
  "server_streaming",
  "ping_pong",
  "empty_stream",
  "cancel_after_begin",
  "cancel_after_first_response",
  "timeout_on_sleeping_server",
  "custom_metadata",
  "status_code_and_message",
  "special_status_message",
  "unimplemented_service",
  "unimplemented_method",
];
const COLUMNS = [
  "grpc-js → tsmicro, plaintext",
  "grpc-js → tsmicro, TLS",
  "tsmicro → grpc-js, plaintext",
  "tsmicro → grpc-js, TLS",
];
const results = new Map<string, string>();
/** Bounds each case so a hang fails with the case's name. */
const CASE_TIMEOUT_MS = 10_000;

let certs: TestCerts;
before(() => {
  certs = makeTestCerts();
});
after(() => {
  certs?.cleanup();
  const rows = CASES.map(
    (c) => `| ${c} | ${COLUMNS.map((col) => results.get(`${c}|${col}`) ?? "not run").join(" | ")} |`,
  );
  console.log(
    ["", `| case | ${COLUMNS.join(" | ")} |`, `|---|${COLUMNS.map(() => "---").join("|")}|`, ...rows, ""]
      .map((l) => `# ${l}`)
      .join("\n"),
  );
});

async function record(name: string, column: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
    results.set(`${name}|${column}`, "pass");
  } catch (err) {
    results.set(`${name}|${column}`, "FAIL");
    throw err;
  }
}

for (const secure of [false, true]) {
  const security = secure ? "TLS" : "plaintext";

  describe(`grpc-js client → tsmicro server, ${security}`, () => {
    const column = `grpc-js → tsmicro, ${security}`;
    let service: MicroService;
    let client: any;
    let unimplemented: any;
    before(async () => {
      service = newService({
        name: "interop",
        registry: createMemoryRegistry(),
        codecs: withProtobuf(),
        transport: createGrpcTransport(secure ? { tls: { cert: certs.cert, key: certs.key } } : {}),
      }).handle(testServiceImpl);
      await service.start();
      const proto = loadTestProto();
      const creds = secure ? grpc.credentials.createSsl(certs.ca) : grpc.credentials.createInsecure();
      const target = secure ? `localhost:${service.address.split(":")[1]}` : service.address;
      client = new proto.testing.TestService(target, creds);
      unimplemented = new proto.testing.UnimplementedService(target, creds);
    });
    after(async () => {
      client?.close();
      unimplemented?.close();
      await service?.stop();
    });
    for (const name of CASES) {
      test(name, { timeout: CASE_TIMEOUT_MS }, () =>
        record(name, column, () => grpcJsCases[name]!(client, unimplemented)),
      );
    }
  });

  describe(`tsmicro client → grpc-js server, ${security}`, () => {
    const column = `tsmicro → grpc-js, ${security}`;
    let server: Awaited<ReturnType<typeof startGrpcJsServer>>;
    let client: ReturnType<typeof newClient>;
    before(async () => {
      server = await startGrpcJsServer(secure ? certs : undefined);
      client = newClient({
        registry: createMemoryRegistry(),
        codecs: withProtobuf(),
        transport: createGrpcTransport(secure ? { tls: { ca: certs.ca } } : {}),
      });
    });
    after(async () => {
      await client?.close();
      server?.forceStop();
    });
    for (const name of CASES) {
      test(name, { timeout: CASE_TIMEOUT_MS }, () =>
        record(name, column, () =>
          tsmicroCases[name]!(
            client.service(TestServiceContract, "interop", { address: server.address }),
            client.service(UnimplementedContract, "interop", { address: server.address }),
          ),
        ),
      );
    }
  });
}
