/**
 * An HTTP request-target and header fuzzer (fast-check) for any listener: each case is sent as
 * raw bytes on a fresh connection; after each one the target process must still be alive, and
 * every `checkEvery` cases (and at the end) it must answer a good request.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import { createInterface } from "node:readline";
import fc from "fast-check";

export interface HttpFuzzOptions {
  /** `host:port` of the listener. */
  address: string;
  /** Whether the process under test is still alive. */
  alive: () => boolean;
  /** A good request that must succeed: resolves true when it did. */
  healthy: () => Promise<boolean>;
  /** Paths the target serves, to fuzz around. @default ["/"] */
  paths?: readonly string[];
  /** Cases to run. @default 2000 */
  numRuns?: number;
  /** Good-request check frequency. @default 100 */
  checkEvery?: number;
  seed?: number;
}

export interface HttpFuzzReport {
  cases: number;
  /** Answers by status (0: the connection closed without a status line). */
  statuses: Record<number, number>;
  ms: number;
}

const METHODS = [
  "GET",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "HEAD",
  "PATCH",
  "TRACE",
  "CONNECT",
  "BREW",
  "get",
  "",
];
const NASTY = [
  "%",
  "%zz",
  "%E0%A4%A",
  "%00",
  "%2F",
  "%25",
  "//",
  "..",
  "[",
  "]",
  "[::1",
  "?",
  "#",
  "{id}",
  "\u00e9",
  "\ud83d\ude00",
  "\\",
  "@",
  ":",
  ";",
  "*",
];
const HEADER_NAMES = [
  "host",
  "content-type",
  "content-length",
  "transfer-encoding",
  "x-micro-timeout",
  "grpc-timeout",
  "authorization",
  "origin",
  "access-control-request-method",
  "access-control-request-headers",
  "x-request-id",
  "accept",
  "cookie",
  "expect",
  "connection",
  "upgrade",
];

/** Printable, no spaces: what an HTTP parser lets through to the application. */
const URL_CHARS = "abcXYZ019-._~!$&'()*+,;=:@/?#[]%{}\\^`|\"<>";

function caseArbitrary(paths: readonly string[]) {
  const urlish = fc.string({ unit: fc.constantFrom(...URL_CHARS), maxLength: 16 });
  const piece = fc.oneof(
    fc.constantFrom(...paths),
    fc.constantFrom(...NASTY.filter((n) => !/\s/.test(n))),
    urlish,
    fc.string({ unit: "grapheme", maxLength: 4 }).map(encodeURI),
  );
  const parsable = fc.oneof(
    fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join("")),
    fc.array(piece, { minLength: 1, maxLength: 5 }).map((parts) => `/${parts.join("/")}`),
    fc.tuple(fc.constantFrom(...paths), urlish).map(([p, q]) => `${p}?${q}`),
    fc
      .tuple(fc.constantFrom("http://", "http://[", "http://127.0.0.1", "//", "http://[::1"), piece, piece)
      .map((t) => t.join("")),
  );
  const value = fc.oneof(
    fc.string({ unit: fc.constantFrom(...URL_CHARS, " ", "a", "0"), maxLength: 40 }),
    fc.constantFrom(
      "application/json",
      "text/plain",
      "0",
      "-1",
      "99999999999",
      "Bearer x",
      "Bearer",
      "500m",
      "0m",
      "1e309",
      "2147483648",
      "https://shop.example",
      "POST",
      "x-secret",
      "localhost",
    ),
  );
  const header = fc.tuple(
    fc.oneof(
      fc.constantFrom(...HEADER_NAMES),
      fc.string({ unit: fc.constantFrom(..."abcxyz-_"), minLength: 1, maxLength: 10 }),
    ),
    value,
  );
  const body = fc.oneof(fc.constant(""), fc.json({ maxDepth: 3 }), fc.string({ maxLength: 100 }));
  // Most cases are well-formed enough to reach the gateway's code; some are wild.
  const shaped = fc
    .record({
      method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"),
      target: parsable,
      version: fc.constant("HTTP/1.1"),
      headers: fc
        .array(header, { maxLength: 6 })
        .map(
          (hs) =>
            [
              ["host", "127.0.0.1"],
              ...hs.filter(([k]) => k !== "host" && k !== "content-length" && k !== "transfer-encoding"),
            ] as [string, string][],
        ),
      body,
    })
    .map((c) => ({
      ...c,
      headers: [...c.headers, ["content-length", String(Buffer.byteLength(c.body))]] as [string, string][],
    }));
  const wild = fc.record({
    method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 8 })),
    target: fc.oneof(parsable, fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 30 })),
    version: fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", ""),
    headers: fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.string({ maxLength: 10 })),
        fc.oneof(value, fc.string({ maxLength: 40 })),
      ),
      { maxLength: 8 },
    ),
    body,
  });
  return fc.oneof({ arbitrary: shaped, weight: 4 }, { arbitrary: wild, weight: 1 });
}

/**
 * Sends raw bytes and resolves with the status once an answer starts (0 when the server closed
 * without one, or still waits for more bytes after `waitMs`). No half-close: Node's HTTP server
 * drops a pending answer when the client half-closes.
 */
export function sendRaw(address: string, bytes: Buffer, waitMs = 1000): Promise<number> {
  const i = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    let head = "";
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0));
    };
    // A case may leave the server waiting for more (a long content-length): the check is liveness, not an answer.
    const timer = setTimeout(done, waitMs);
    socket.on("data", (c) => {
      head += c.toString("latin1");
      if (head.includes("\r\n")) done();
    });
    socket.on("error", done);
    socket.on("close", done);
    socket.write(bytes);
  });
}

export async function fuzzHttp(options: HttpFuzzOptions): Promise<HttpFuzzReport> {
  const numRuns = options.numRuns ?? 2000;
  const checkEvery = options.checkEvery ?? 100;
  const statuses: Record<number, number> = {};
  let cases = 0;
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(caseArbitrary(options.paths ?? ["/"]), async (c) => {
      const head = [
        `${c.method} ${c.target} ${c.version}`.trim(),
        ...c.headers.map(([k, v]) => `${k}: ${v}`),
      ];
      const bytes = Buffer.from(`${head.join("\r\n")}\r\n\r\n${c.body}`, "utf8");
      const status = await sendRaw(options.address, bytes);
      statuses[status] = (statuses[status] ?? 0) + 1;
      cases++;
      if (!options.alive())
        throw new Error(`the process died after case ${cases}: ${JSON.stringify(bytes.toString("latin1"))}`);
      if (cases % checkEvery === 0 && !(await options.healthy())) {
        throw new Error(
          `a good request failed after case ${cases}: ${JSON.stringify(bytes.toString("latin1"))}`,
        );
      }
    }),
    { numRuns, ...(options.seed === undefined ? {} : { seed: options.seed }), endOnFailure: true },
  );
  if (!(await options.healthy())) throw new Error(`a good request failed after all ${cases} cases`);
  return { cases, statuses, ms: Math.round(performance.now() - started) };
}

/** Paths the gateway fixture serves, for the fuzzer to work around. */
export const GATEWAY_PATHS = [
  "/api/orders/Api.echo",
  "/api/orders/Orders.watch",
  "/orders/7",
  "/orders",
  "/v1/echo/x",
  "/health",
  "/health/orders",
  "/openapi.json",
  "/_/services",
  "/_/events",
  "/",
];

/** A call the gateway fixture must always answer with 200. */
export function goodGatewayRequest(): Buffer {
  return Buffer.from(
    "POST /api/orders/Api.echo HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
  );
}

/** Starts a fixture process (`fixtures/<name>`) and reads the address it prints. */
export async function startProcess(fixture: string, ms = 20_000) {
  const p = spawn(
    process.execPath,
    ["--import", "tsx", new URL(`./fixtures/${fixture}`, import.meta.url).pathname],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let err = "";
  p.stderr!.on("data", (c) => {
    err += String(c);
  });
  const lines = createInterface({ input: p.stdout! });
  const at = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${fixture} printed no address within ${ms} ms: ${err}`)),
      ms,
    );
    lines.once("line", (l) => {
      clearTimeout(timer);
      resolve((JSON.parse(l) as { address: string }).address);
    });
    p.once("exit", (code) => reject(new Error(`${fixture} exited (${code}) before listening: ${err}`)));
  });
  return { child: p, address: at, stderr: () => err };
}

export async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await exited;
}

/** The long mode (`npm run fuzz -- --http`): the gateway fixture in its own process under `runs` cases. */
export async function fuzzGatewayProcess(
  runs: number,
  seed: number,
): Promise<HttpFuzzReport & { failure?: string }> {
  const served = await startProcess("gateway-process.ts");
  const alive = () => served.child.exitCode === null && served.child.signalCode === null;
  try {
    return await fuzzHttp({
      address: served.address,
      alive,
      healthy: async () => (await sendRaw(served.address, goodGatewayRequest())) === 200,
      paths: GATEWAY_PATHS,
      numRuns: runs,
      seed,
    });
  } catch (err) {
    return { cases: 0, statuses: {}, ms: 0, failure: `${(err as Error).message} ${served.stderr()}` };
  } finally {
    await stop(served.child);
  }
}
