// What security costs on a unary echo: plaintext TCP, TLS, mutual TLS, and mutual TLS with
// @tsmicro/auth tokens (EdDSA, verified tokens cached). The server is a child process; the load
// generator runs here; loopback only. Prints a markdown table.
// Usage: npm run build && node bench/security/run.mjs [--seconds 3] [--quick]
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { register } from "tsx/esm/api";

register();
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    quick: { type: "boolean", default: false },
    serve: { type: "string" },
  },
});
const tsmicro = await import("tsmicro");
const auth = await import("@tsmicro/auth");

class Echo {
  async echo(_ctx, req) {
    return req;
  }
}

if (values.serve !== undefined) {
  // Child: serve with the configuration the parent sent.
  const cfg = JSON.parse(values.serve);
  const wrappers = [];
  if (cfg.publicKey !== undefined) {
    const keys = await auth.importKeys("EdDSA", { publicKey: cfg.publicKey });
    const rules = [{ id: "all", resource: { service: "*", endpoint: "*" }, scope: "*", access: "allow" }];
    wrappers.push(auth.authHandlerWrapper({ auth: auth.createAuth(keys), rules }));
  }
  const service = tsmicro
    .newService({
      name: "bench",
      registry: tsmicro.createMemoryRegistry(),
      transport: tsmicro.createTcpTransport({ tls: cfg.tls }),
      wrappers,
      trackInflight: false,
    })
    .handle(new Echo());
  await service.start();
  process.stdout.write(`${service.address}\n`);
  process.on("SIGTERM", () => process.exit(0));
} else {
  await main();
}

async function main() {
  const seconds = values.quick ? 1 : Number(values.seconds);
  const { makeTestPki } = await import("../../packages/tsmicro/test/support/certs.ts");
  const pki = makeTestPki();
  const keys = await auth.generateKeys("EdDSA");
  const pem = await auth.exportKeys(keys);
  const issuer = auth.createAuth(keys);
  const account = { id: "bench", scopes: [], metadata: {} };
  const cases = [
    { name: "plaintext", server: {}, client: {} },
    { name: "TLS", server: { tls: { ...pki.server } }, client: { tls: { ca: pki.ca } } },
    {
      name: "mutual TLS",
      server: { tls: { ...pki.server, ca: pki.ca, requireClientCert: true } },
      client: { tls: { ca: pki.ca, ...pki.client } },
    },
    {
      name: "mutual TLS + auth token",
      server: { tls: { ...pki.server, ca: pki.ca, requireClientCert: true }, publicKey: pem.publicKey },
      client: { tls: { ca: pki.ca, ...pki.client } },
      token: true,
    },
  ];
  const rows = [];
  for (const c of cases) {
    const child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), "--serve", JSON.stringify(c.server)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const address = await new Promise((resolve, reject) => {
      child.stdout.once("data", (d) => resolve(d.toString().trim()));
      child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
    });
    const wrappers = c.token
      ? [auth.authCallWrapper(auth.createTokenSource({ fetch: auth.selfIssued(issuer, account) }))]
      : [];
    const client = tsmicro.newClient({
      registry: tsmicro.createMemoryRegistry(),
      transport: tsmicro.createTcpTransport({ tls: c.client.tls }),
      wrappers,
      poolSize: 1,
      trackInflight: false,
    });
    for (const concurrency of [1, 64]) {
      const req = tsmicro.newRequest("bench", "Echo.echo", { p: "x".repeat(100) });
      const call = () => client.call(tsmicro.background(), req, { address });
      for (let i = 0; i < 200; i++) await call(); // warm-up, and the TLS handshake
      const latencies = [];
      const end = performance.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < end) {
            const t0 = performance.now();
            await call();
            latencies.push(performance.now() - t0);
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      rows.push({
        name: c.name,
        concurrency,
        rps: latencies.length / seconds,
        p50: latencies[Math.floor(latencies.length * 0.5)],
        p99: latencies[Math.floor(latencies.length * 0.99)],
      });
    }
    await client.close();
    child.kill("SIGTERM");
  }
  pki.dispose();
  console.log(`\n### Security overhead: unary echo, 100 B, ${seconds} s per row, loopback\n`);
  console.log("| transport | in flight | calls/s | p50 (ms) | p99 (ms) |");
  console.log("|---|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.concurrency} | ${Math.round(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
    );
  }
}
