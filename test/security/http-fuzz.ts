/**
 * The HTTP request-target and header fuzzer of the security suite: hostile HTTP/1.1 requests
 * (any method, target, header names and values) to the health, metrics and HTTP-broker
 * listeners, and hostile HTTP/2 requests (any :path, :method, headers) plus raw HTTP/1 bytes to
 * the gRPC server, all served by one child process. The property: the process is alive after
 * every case, and a good request is served afterwards. Used by `npm test` and `npm run fuzz -- --http`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect as h2connect } from "node:http2";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { encodeMessageFrame } from "tsmicro/plugin";

export interface Listeners {
  health: string;
  metrics: string;
  broker: string;
  brokerPath: string;
  grpc: string;
}

export interface Served {
  readonly addresses: Listeners;
  /** True while the child process runs. */
  alive(): boolean;
  /** Its stderr so far (a crash's stack trace). */
  stderr(): string;
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL("./listeners-child.ts", import.meta.url));

/** Starts the listeners' process; rejects (with its stderr) if it does not print its addresses within `ms`. */
export function startListeners(ms = 30_000): Promise<Served> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", CHILD], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the listeners' process printed no addresses within ${ms} ms; stderr: ${err}`));
    }, ms);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the listeners' process exited (${code}) before serving; stderr: ${err}`));
    });
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      const addresses = JSON.parse(out.slice(0, nl)) as Listeners;
      resolve({
        addresses,
        alive: () => child.exitCode === null && child.signalCode === null,
        stderr: () => err,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
      });
    });
  });
}

function split(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(address.slice(i + 1)) };
}

/**
 * Writes `bytes` on a new connection and resolves with what came back (up to the first 4 KiB)
 * once the server answers and closes, or after `ms`. Rejects only if the connection is refused.
 */
export function sendRaw(address: string, bytes: Buffer, ms = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(split(address));
    let got = "";
    let connected = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, ms);
    socket.once("connect", () => {
      connected = true;
      socket.end(bytes);
    });
    socket.on("data", (d: Buffer) => {
      if (got.length < 4096) got += d.toString("latin1");
      // One answer is enough: the server may keep the connection open.
      if (/\r\n\r\n/.test(got)) done();
    });
    socket.once("error", (e) => {
      if (!connected) {
        clearTimeout(timer);
        reject(new Error(`connection to ${address} refused: ${e.message}`));
      } else done();
    });
    socket.once("close", done);
  });
}

/** The status of an HTTP/1 answer, or undefined. */
export function statusOf(answer: string): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
  return m === null ? undefined : Number(m[1]);
}

/** Builds an HTTP/1.1 request from parts, byte for byte as given (no escaping). */
export function http1(method: string, target: string, headers: [string, string][], body = ""): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n${body}`, "latin1");
}

const nasty = [
  "//%zz",
  "http://[::1/x",
  "/%",
  "/broker/%",
  "/%E0%A4%A",
  "//",
  "*",
  "http://a:b@c/",
  "/livez%00",
  "/\u0000",
  "/..%2f..%2f",
  "/metrics?%zz",
  "/health/%",
  "%",
  "",
  "/?#",
  "\\\\",
  "/\u00ff\u00fe",
  "https://[",
  "//[::1",
];

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
const latin1 = fc.string({
  unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

/** A request target: the known crashers, percent junk, absolute and authority forms, raw bytes. */
export const targetArb = (paths: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...nasty, ...paths),
    fc
      .tuple(fc.constantFrom(...paths, "/", "//", "http://", "http://[::1", ""), latin1)
      .map(([a, b]) => a + b),
    fc
      .array(
        fc.oneof(fc.constantFrom("%", "%z", "%2", "%zz", "/", "?", "#", "[", "]", ":", "@", ".."), latin1),
        {
          maxLength: 6,
        },
      )
      .map((parts) => `/${parts.join("")}`),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    latin1,
  );

const headersArb = (host: string): fc.Arbitrary<[string, string][]> =>
  fc
    .tuple(
      fc.oneof(
        fc.constant<[string, string][]>([["Host", host]]),
        fc
          .constantFrom("", "evil.example", "127.0.0.1", "[::1]", "localhost:1", ":", "[", "a".repeat(300))
          .map((h): [string, string][] => [["Host", h]]),
        fc.constant<[string, string][]>([]),
      ),
      fc.array(fc.tuple(fc.oneof(token, latin1), latin1), { maxLength: 4 }),
      fc.constantFrom<[string, string][]>(
        [],
        [["Content-Length", "5"]],
        [["Content-Length", "-1"]],
        [["Transfer-Encoding", "chunked"]],
        [["Content-Length", "99999999999"]],
        [["Expect", "100-continue"]],
      ),
    )
    .map(([a, b, c]) => [...a, ...b, ...c]);

export const http1Arb = (host: string, paths: string[]) =>
  fc.record({
    method: fc.oneof(
      fc.constantFrom("GET", "HEAD", "POST", "PUT", "OPTIONS", "CONNECT", "TRACE"),
      token,
      latin1,
    ),
    target: targetArb(paths),
    headers: headersArb(host),
    body: fc.oneof(fc.constant(""), latin1),
  });

export interface TargetResult {
  name: string;
  runs: number;
  ms: number;
  failure?: string;
}

/** One HTTP/1 listener: `runs` hostile requests, alive after each, then a good request served. */
export async function fuzzHttp1(
  served: Served,
  name: string,
  address: string,
  paths: string[],
  good: Buffer,
  runs: number,
  seed: number,
): Promise<TargetResult> {
  const t0 = performance.now();
  const result = await fc.check(
    fc.asyncProperty(http1Arb(address, paths), async (c) => {
      await sendRaw(address, http1(c.method, c.target, c.headers, c.body));
      if (!served.alive()) throw new Error(`the process died; stderr: ${served.stderr().slice(0, 2000)}`);
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
  let failure = result.failed ? fc.defaultReportMessage(result) : undefined;
  if (failure === undefined) failure = await goodServed(served, address, good);
  return {
    name,
    runs: result.numRuns,
    ms: performance.now() - t0,
    ...(failure === undefined ? {} : { failure }),
  };
}

async function goodServed(served: Served, address: string, good: Buffer): Promise<string | undefined> {
  if (!served.alive()) return `the process died; stderr: ${served.stderr().slice(0, 2000)}`;
  const answer = await sendRaw(address, good).catch((e: Error) => e.message);
  const status = statusOf(answer);
  return status !== undefined && status < 300
    ? undefined
    : `a good request afterwards got: ${answer.slice(0, 200)}`;
}

const h2HeaderName = fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,12}$/);

/** The gRPC server: hostile HTTP/2 requests on one session (reopened if the server ends it). */
export async function fuzzGrpc(served: Served, runs: number, seed: number): Promise<TargetResult> {
  const address = served.addresses.grpc;
  const t0 = performance.now();
  let session = h2connect(`http://${address}`);
  session.on("error", () => {});
  const arb = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("h2" as const),
        path: fc.oneof(targetArb(["/Echo/echo", "/grpc.health.v1.Health/Check"]), fc.constant("/Echo/echo")),
        method: fc.oneof(fc.constantFrom("POST", "GET", "PUT"), token),
        headers: fc.dictionary(
          fc.oneof(
            h2HeaderName,
            fc.constantFrom("content-type", "te", "grpc-timeout", "grpc-encoding", "x-micro-service"),
          ),
          fc.oneof(
            latin1,
            fc.constantFrom("application/grpc", "trailers", "99999999H", "1n", "-1S", "gzip", "identity"),
          ),
          { maxKeys: 5 },
        ),
        body: fc.uint8Array({ maxLength: 64 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("raw" as const),
        bytes: fc.oneof(
          http1Arb(address, ["/Echo/echo"]).map((c) => http1(c.method, c.target, c.headers, c.body)),
          fc
            .uint8Array({ maxLength: 128 })
            .map((b) => Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), b])),
        ),
      }),
    },
  );
  const result = await fc.check(
    fc.asyncProperty(arb, async (c) => {
      if (c.kind === "raw") await sendRaw(address, c.bytes, 500);
      else {
        if (session.closed || session.destroyed) {
          session = h2connect(`http://${address}`);
          session.on("error", () => {});
        }
        await new Promise<void>((resolve) => {
          let stream: ReturnType<typeof session.request>;
          try {
            // The client refuses some headers itself (a bad :path, a connection header): not a case.
            stream = session.request({ ...c.headers, ":method": c.method, ":path": c.path });
          } catch {
            return resolve();
          }
          const timer = setTimeout(() => {
            stream.close();
            resolve();
          }, 2000);
          stream.on("error", () => {});
          stream.on("close", () => {
            clearTimeout(timer);
            resolve();
          });
          stream.resume();
          stream.end(c.body);
        });
      }
      if (!served.alive()) throw new Error(`the process died; stderr: ${served.stderr().slice(0, 2000)}`);
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
  session.destroy();
  let failure = result.failed ? fc.defaultReportMessage(result) : undefined;
  if (failure === undefined) failure = await grpcGood(served);
  return {
    name: "grpc",
    runs: result.numRuns,
    ms: performance.now() - t0,
    ...(failure === undefined ? {} : { failure }),
  };
}

/** A well-formed gRPC call (empty JSON-less message) gets an answer with a grpc-status. */
async function grpcGood(served: Served): Promise<string | undefined> {
  if (!served.alive()) return `the process died; stderr: ${served.stderr().slice(0, 2000)}`;
  const session = h2connect(`http://${served.addresses.grpc}`);
  session.on("error", () => {});
  try {
    const status = await new Promise<string | undefined>((resolve) => {
      const stream = session.request({
        ":method": "POST",
        ":path": "/Echo/echo",
        "content-type": "application/grpc+json",
        te: "trailers",
      });
      const timer = setTimeout(() => resolve(undefined), 5000);
      stream.on("trailers", (t) => {
        clearTimeout(timer);
        resolve(String(t["grpc-status"]));
      });
      stream.on("error", () => resolve(undefined));
      stream.resume();
      const msg = Buffer.from("{}");
      const frame = Buffer.alloc(5 + msg.length);
      frame.writeUInt32BE(msg.length, 1);
      msg.copy(frame, 5);
      stream.end(frame);
    });
    return status === "0" ? undefined : `a good gRPC call afterwards got grpc-status ${status}`;
  } finally {
    session.destroy();
  }
}

/** Every listener, `runs` cases each. */
export async function runHttpFuzz(
  runs: number,
  seed: number,
  report: (r: TargetResult) => void = () => {},
): Promise<TargetResult[]> {
  const served = await startListeners();
  const a = served.addresses;
  try {
    const results: TargetResult[] = [];
    const push = (r: TargetResult) => {
      results.push(r);
      report(r);
    };
    push(
      await fuzzHttp1(
        served,
        "health",
        a.health,
        ["/livez", "/readyz", "/health"],
        get(a.health, "/livez"),
        runs,
        seed,
      ),
    );
    push(await fuzzHttp1(served, "metrics", a.metrics, ["/metrics"], get(a.metrics, "/metrics"), runs, seed));
    push(
      await fuzzHttp1(served, "http-broker", a.broker, [a.brokerPath, "/broker/"], brokerGood(a), runs, seed),
    );
    push(await fuzzGrpc(served, runs, seed));
    return results;
  } finally {
    await served.stop();
  }
}

export function get(address: string, path: string): Buffer {
  return http1("GET", path, [
    ["Host", address],
    ["Connection", "close"],
  ]);
}

/** A message the broker's subscriber takes (202). */
export function brokerGood(a: Listeners): Buffer {
  const body = encodeMessageFrame("fuzz.topic", { headers: {}, body: Buffer.from("{}") });
  const head = `POST ${a.brokerPath} HTTP/1.1\r\nHost: ${a.broker}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}
