/**
 * Pinned behaviours of the TCP transport's factory and dial (transport/tcp.ts): its defaults,
 * options checked when it is made (undefined keeps a default), the dial's errors (refused: a
 * retryable 503 naming the address; no handshake in time: a 408; aborted: the reason), nothing
 * left attached to the caller's signal, no dial timer left to cut a good connection, and the
 * frame limit and server options handed on.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, describe, it, mock } from "node:test";
import { isMicroError, MicroError } from "../../src/errors.js";
import { isTransportFailure } from "../../src/transport/failure.js";
import { DEFAULT_CONNECTION_LIMITS } from "../../src/transport/limits.js";
import { createTcpTransport, DEFAULT_TCP_OPTIONS } from "../../src/transport/tcp.js";
import type { Listener } from "../../src/transport/transport.js";
import { rejection, until, within } from "../helpers.js";
import { countingSignal } from "../support/counting-signal.js";

const request = (body: Uint8Array) => ({
  headers: { service: "pin", endpoint: "Pin.echo", contentType: "application/json" },
  body,
});

/** A loopback server that accepts and never answers: a TLS handshake against it never ends. */
async function silentServer(): Promise<{
  address: string;
  sockets: Socket[];
  closed: () => number;
  server: Server;
}> {
  const sockets: Socket[] = [];
  let closed = 0;
  const server = createServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    s.on("close", () => closed++);
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { address: `127.0.0.1:${port}`, sockets, closed: () => closed, server };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return `127.0.0.1:${port}`;
}

describe("tcp transport (pinned)", { timeout: 20_000 }, () => {
  const cleanup: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it("defaults: 4 MiB frames, 64 KiB headers, 128 metadata entries, keepalive off, the connection limits, console.warn", () => {
    const { log, ...rest } = DEFAULT_TCP_OPTIONS;
    assert.deepEqual(rest, {
      maxFrameBytes: 4 * 1024 * 1024,
      maxHeaderBytes: 64 * 1024,
      maxMetadataEntries: 128,
      keepaliveMs: 0,
      ...DEFAULT_CONNECTION_LIMITS,
    });
    const warn = mock.method(console, "warn", () => {});
    try {
      log("refused a peer");
      assert.deepEqual(
        warn.mock.calls.map((c) => c.arguments),
        [["refused a peer"]],
      );
    } finally {
      warn.mock.restore();
    }
    assert.equal(createTcpTransport().name, "tcp");
  });

  it("checks every connection limit and the tls options when made; an undefined option keeps its default", () => {
    for (const key of Object.keys(DEFAULT_CONNECTION_LIMITS)) {
      assert.throws(
        () => createTcpTransport({ [key]: -1 }),
        (e: unknown) => e instanceof TypeError && e.message.includes(`option ${key} must be a number > 0`),
        key,
      );
    }
    const undefinedAll = Object.fromEntries(Object.keys(DEFAULT_TCP_OPTIONS).map((k) => [k, undefined]));
    createTcpTransport({ ...undefinedAll, tls: undefined });
    assert.throws(
      () => createTcpTransport({ tls: { requestClientCert: true } as never }),
      /^TypeError: tcp transport: unknown tls option "requestClientCert"/,
    );
  });

  it("a refused dial is a retryable 503 transport failure naming the address; the caller's signal keeps no listener", async () => {
    const address = await closedPort();
    const signal = countingSignal();
    const e = await rejection(
      createTcpTransport().dial(address, { timeoutMs: 5000, signal: signal.asAbortSignal }),
      5000,
      "a dial to a closed port",
    );
    assert.ok(isMicroError(e), `a MicroError, got ${String(e)}`);
    assert.equal(e.code, 503);
    assert.ok(e.detail.startsWith(`dial tcp ${address}: `), e.detail);
    assert.match(e.detail, /ECONNREFUSED/);
    assert.equal(
      (e.cause as NodeJS.ErrnoException | undefined)?.code,
      "ECONNREFUSED",
      "the socket's error is the cause",
    );
    assert.equal(isTransportFailure(e), true);
    assert.equal(signal.listeners, 0);
  });

  it("a dial that does not complete in time is a 408; an aborted one rejects with the reason; both close the socket", async () => {
    const silent = await silentServer();
    cleanup.push(() => {
      for (const s of silent.sockets) s.destroy();
      silent.server.close();
    });
    const transport = createTcpTransport({ tls: {} });

    const e = await rejection(transport.dial(silent.address, { timeoutMs: 150 }), 5000, "the dial deadline");
    assert.ok(isMicroError(e));
    assert.equal(e.code, 408);
    assert.equal(e.detail, `dial tcp ${silent.address}: no connection after 150 ms`);
    assert.equal(isTransportFailure(e), true);

    const signal = countingSignal();
    const dialing = transport.dial(silent.address, { timeoutMs: 60_000, signal: signal.asAbortSignal });
    await until(() => silent.sockets.length === 2, "the second dial to reach the server");
    assert.equal(signal.listeners, 1);
    const reason = new MicroError({ id: "pin", code: 499, detail: "caller went away" });
    signal.abort(reason);
    const aborted = await rejection(dialing, 5000, "the aborted dial");
    assert.ok(isMicroError(aborted));
    assert.equal(aborted.code, 499);
    assert.equal(aborted.detail, "caller went away");
    assert.equal(signal.listeners, 0);
    await until(() => silent.closed() === 2, "the server to see both sockets close");
  });

  it("a good dial: no listener left on the signal, and its dial deadline cannot cut the connection later", async () => {
    const served: Listener = await createTcpTransport().listen("127.0.0.1:0", (req) =>
      req.respond({ contentType: "application/json", body: req.body }),
    );
    cleanup.push(() => served.close());
    const signal = countingSignal();
    const conn = await within(
      createTcpTransport().dial(served.address, { timeoutMs: 100, signal: signal.asAbortSignal }),
      5000,
      "a dial",
    );
    cleanup.push(() => conn.close());
    assert.equal(conn.address, served.address);
    assert.equal(signal.listeners, 0);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(conn.usable, true, "still usable after the dial timeout would have fired");
    const r = await within(conn.request(request(new Uint8Array([1, 2])), signal), 5000, "a request");
    assert.deepEqual([...r.body], [1, 2]);
  });

  it("hands the frame limit to the connection and the options to the listener", async () => {
    const logged: string[] = [];
    const served = await createTcpTransport({ handshakeTimeoutMs: 50, log: (m) => logged.push(m) }).listen(
      "127.0.0.1:0",
      (req) => req.respond({ contentType: "application/json", body: req.body }),
    );
    cleanup.push(() => served.close());
    const conn = await createTcpTransport({ maxFrameBytes: 256 }).dial(served.address, { timeoutMs: 5000 });
    cleanup.push(() => conn.close());
    const e = await rejection(
      conn.request(request(new Uint8Array(1024)), countingSignal()),
      5000,
      "an oversized request",
    );
    assert.ok(isMicroError(e));
    assert.equal(e.code, 413);
    assert.match(e.detail, /over the frame limit of 256 bytes/);

    const { connect } = await import("node:net");
    const idle = connect(Number(served.address.split(":")[1]), "127.0.0.1");
    idle.on("error", () => {});
    cleanup.push(() => idle.destroy());
    await until(
      () => logged.some((m) => /handshake timeout/.test(m)),
      "the server's 50 ms handshake limit to be logged",
    );
  });
});
