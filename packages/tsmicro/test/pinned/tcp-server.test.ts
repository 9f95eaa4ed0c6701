/**
 * Pinned behaviours of the server's end of TCP connections (transport/tcp-server.ts), driven by
 * a raw peer on loopback: the preface (split across packets, or sent with the first frame; a
 * wrong one refused as soon as a byte differs, with what came shown), one answer per request
 * (a second respond or fail is dropped; a cancelled request answers nothing and its handler's
 * signal aborts), an answer over the frame limit, ping, duplicate ids and the in-flight limit,
 * the connection limit, GoAway on stopAccepting, and handlers told when their caller disconnects.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import {
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_METADATA_ENTRIES,
  encodeRequestHeaders,
} from "../../src/transport/headers.js";
import { DEFAULT_CONNECTION_LIMITS } from "../../src/transport/limits.js";
import { listenTcp, type ServerConnectionOptions } from "../../src/transport/tcp-server.js";
import type { InboundRequest, InboundStream, Listener } from "../../src/transport/transport.js";
import { until, within } from "../helpers.js";
import {
  encodeFrame,
  FrameType,
  frameError,
  openRaw,
  PREFACE,
  type RawPeer,
  requestFrame,
} from "../support/raw-peer.js";

/** The error frame's whole wire object (id, retryable, refused included). */
const wire = (f: { body: Buffer }) =>
  JSON.parse(f.body.toString("utf8")) as { id: string; code: number; retryable?: boolean; refused?: boolean };

describe("tcp server (pinned)", { timeout: 30_000 }, () => {
  const listeners: Listener[] = [];
  const peers: RawPeer[] = [];
  after(async () => {
    for (const p of peers) p.socket.destroy();
    for (const l of listeners) await l.close();
  });

  /** A listener whose handler keeps each request for the test to answer. */
  async function serve(o: Partial<ServerConnectionOptions> = {}) {
    const requests: InboundRequest[] = [];
    const logged: string[] = [];
    const listener = await listenTcp("127.0.0.1:0", (r) => requests.push(r), {
      ...DEFAULT_CONNECTION_LIMITS,
      maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
      maxMetadataEntries: DEFAULT_MAX_METADATA_ENTRIES,
      maxFrameBytes: 1024 * 1024,
      log: (m) => logged.push(m),
      ...o,
    });
    listeners.push(listener);
    const peer = async (halfOpen = false) => {
      const p = await openRaw(listener.address, { halfOpen });
      peers.push(p);
      return p;
    };
    return { listener, requests, logged, peer };
  }

  it("the preface may come split, or with the first frame", async () => {
    const { requests, peer } = await serve();
    const split = await peer();
    split.socket.write(PREFACE.subarray(0, 3));
    await new Promise((r) => setTimeout(r, 20));
    split.socket.write(PREFACE.subarray(3));
    await new Promise((r) => setTimeout(r, 20));
    split.socket.write(requestFrame(1, "svc", "A.a"));
    const together = await peer();
    together.socket.write(Buffer.concat([PREFACE, requestFrame(1, "svc", "B.b")]));
    await until(() => requests.length === 2, "both requests");
    assert.deepEqual(requests.map((r) => r.headers.endpoint).sort(), ["A.a", "B.b"]);
    assert.match(requests[0]!.peer, /^127\.0\.0\.1:\d+$/);
  });

  it("a wrong preface is refused as soon as a byte differs, showing what came (unprintables as dots)", async () => {
    const { logged, peer } = await serve();
    const p = await peer();
    p.socket.write(Buffer.from("TSX\u0001\u0002"));
    await p.waitClosed(5000, "the refused connection to close");
    const [f] = p.frames;
    assert.equal(f?.id, 0);
    assert.equal(frameError(f!).code, 400);
    assert.equal(wire(f!).id, "tsmicro");
    assert.equal(f!.header.length, 0, "an error frame has no header");
    assert.equal(
      frameError(f!).detail,
      'not a tsmicro client: expected the preface "TSMICRO\\x01", got "TSX.."',
    );
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /^tsmicro: closing connection from 127\.0\.0\.1:\d+: not a tsmicro client/);

    const long = await peer();
    long.socket.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await long.waitClosed(5000, "the HTTP client to be cut off");
    assert.equal(
      frameError(long.frames[0]!).detail,
      'not a tsmicro client: expected the preface "TSMICRO\\x01", got "GET / HTTP/1.1.."',
    );
  });

  it("one answer per request: a second respond or fail is dropped; the content type goes in the response header", async () => {
    const { requests, peer } = await serve();
    const p = await peer();
    p.socket.write(Buffer.concat([PREFACE, requestFrame(1, "svc", "A.a"), requestFrame(2, "svc", "B.b")]));
    await until(() => requests.length === 2, "two requests");
    const [a, b] = requests;
    a!.respond({ contentType: "application/msgpack", body: Buffer.from("one") });
    a!.respond({ contentType: "application/json", body: Buffer.from("two") });
    a!.fail(new MicroError({ id: "x", code: 500, detail: "late" }));
    b!.respond({ contentType: "application/json", body: Buffer.from("b") });
    await until(() => p.frames.length === 2, "two answers");
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(p.frames.length, 2, "nothing more");
    const [fa, fb] = p.frames;
    assert.deepEqual([fa!.type, fa!.id, fa!.body.toString()], [FrameType.Response, 1, "one"]);
    assert.equal(fa!.header.toString(), '{"c":"application/msgpack"}');
    assert.deepEqual([fb!.id, fb!.header.length], [2, 0]);
  });

  it("a cancel aborts the handler's signal and its answer is never sent; ping gets a pong", async () => {
    const { requests, peer } = await serve();
    const p = await peer();
    p.socket.write(Buffer.concat([PREFACE, requestFrame(7, "svc", "A.a")]));
    await until(() => requests.length === 1, "the request");
    const r = requests[0]!;
    p.socket.write(encodeFrame(FrameType.Cancel, 7, "", Buffer.alloc(0)));
    await until(() => r.signal.aborted, "the handler's signal to abort");
    const reason = r.signal.reason as { code: number; detail: string };
    assert.equal(reason.code, 499);
    assert.equal(reason.detail, "the caller cancelled the request");
    assert.equal((reason as { id?: string }).id, "tsmicro");
    r.respond({ contentType: "application/json", body: Buffer.from("x") });
    p.socket.write(encodeFrame(FrameType.Ping, 3, "", Buffer.alloc(0)));
    await until(() => p.frames.length === 1, "the pong");
    assert.deepEqual([p.frames[0]!.type, p.frames[0]!.id], [FrameType.Pong, 3]);
    assert.equal(p.frames[0]!.header.length, 0, "a pong has no header");
  });

  it("an answer over the frame limit is a 413 naming the endpoint; a request over it a 413 too; the connection goes on", async () => {
    const { requests, peer } = await serve({ maxFrameBytes: 300 });
    const p = await peer();
    p.socket.write(
      Buffer.concat([PREFACE, requestFrame(1, "svc", "A.a"), requestFrame(2, "svc", "B.b", "y".repeat(400))]),
    );
    await until(() => requests.length === 1 && p.frames.length === 1, "one request served, one refused");
    const refused = frameError(p.frames[0]!);
    assert.equal(p.frames[0]!.id, 2);
    assert.equal(refused.code, 413);
    assert.match(refused.detail, /^request of \d+ bytes exceeds the server's frame limit of 300 bytes$/);
    assert.equal(wire(p.frames[0]!).id, "tsmicro");
    assert.equal(wire(p.frames[0]!).retryable, false);
    requests[0]!.respond({ contentType: "application/json", body: Buffer.alloc(400) });
    await until(() => p.frames.length === 2, "the refused answer");
    const big = frameError(p.frames[1]!);
    assert.equal(big.code, 413);
    assert.match(big.detail, /^response of svc\.A\.a is \d+ bytes, over the frame limit of 300 bytes$/);
    assert.equal(wire(p.frames[1]!).id, "svc", "the answer's 413 is the service's");
    assert.equal(wire(p.frames[1]!).retryable, false);
    p.socket.write(requestFrame(3, "svc", "C.c"));
    await until(() => requests.length === 2, "the next request on the same connection");
  });

  it("a reused id is a 400; past the in-flight limit a 429, logged once", async () => {
    const { requests, logged, peer } = await serve({ maxInflightPerConnection: 2 });
    const p = await peer();
    p.socket.write(Buffer.concat([PREFACE, requestFrame(1, "svc", "A.a"), requestFrame(1, "svc", "A.b")]));
    await until(() => p.frames.length === 1, "the duplicate's refusal");
    assert.equal(frameError(p.frames[0]!).code, 400);
    assert.equal(
      frameError(p.frames[0]!).detail,
      "request id 1 is already in flight on this connection; ids must be unique until answered",
    );
    assert.equal(wire(p.frames[0]!).id, "tsmicro");
    assert.match(
      logged.join("\n"),
      /tsmicro: connection from 127\.0\.0\.1:\d+: request id 1 is already in flight/,
    );
    p.socket.write(
      Buffer.concat([requestFrame(2, "svc", "B"), requestFrame(3, "svc", "C"), requestFrame(4, "svc", "D")]),
    );
    await until(() => p.frames.length === 3, "two refusals over the limit");
    for (const f of p.frames.slice(1)) {
      assert.equal(frameError(f).code, 429);
      assert.equal(
        frameError(f).detail,
        "2 requests already in flight on this connection, the limit is 2; use more connections or wait for answers",
      );
      assert.equal(wire(f).id, "tsmicro");
      assert.equal(wire(f).refused, true, "refused: safe to retry elsewhere");
    }
    assert.equal(requests.length, 2);
    assert.equal(logged.filter((m) => m.includes("the limit is 2")).length, 1, "logged once");
    requests[0]!.respond({ contentType: "application/json", body: Buffer.from("{}") });
    p.socket.write(requestFrame(5, "svc", "E"));
    await until(() => requests.length === 3, "a request once one finished");
  });

  it("the connection over the limit gets a 503 (id 0) and is closed; the others carry on", async () => {
    const { requests, logged, peer } = await serve({ maxConnections: 1 });
    const first = await peer();
    first.socket.write(PREFACE);
    await new Promise((r) => setTimeout(r, 20));
    const second = await peer();
    await second.waitClosed(5000, "the connection over the limit to close");
    const e = frameError(second.frames[0]!);
    assert.equal(second.frames[0]!.id, 0);
    assert.equal(e.code, 503);
    assert.equal(e.detail, "connection refused: the server is at its limit of 1 connections");
    assert.equal(wire(second.frames[0]!).id, "tsmicro");
    assert.equal(wire(second.frames[0]!).refused, true);
    assert.match(
      logged.join("\n"),
      /connection refused: the server is at its limit of 1 connections \(refused 127\.0\.0\.1:\d+\)/,
    );
    first.socket.write(requestFrame(1, "svc", "A.a"));
    await until(() => requests.length === 1, "the first connection's request");
  });

  it("stopAccepting sends GoAway on open connections; a disconnect aborts their handlers", async () => {
    const { listener, requests, peer } = await serve();
    const p = await peer();
    p.socket.write(Buffer.concat([PREFACE, requestFrame(1, "svc", "A.a")]));
    await until(() => requests.length === 1 && listener.connections === 1, "the request");
    await listener.stopAccepting();
    await until(() => p.frames.some((f) => f.type === FrameType.GoAway), "the GoAway");
    p.socket.destroy();
    const r = requests[0]!;
    await until(() => r.signal.aborted, "the handler's signal to abort on disconnect");
    assert.match(
      (r.signal.reason as { detail: string }).detail,
      /^the caller 127\.0\.0\.1:\d+ disconnected$/,
    );
    assert.equal((r.signal.reason as { id: string }).id, "tsmicro");
    await until(() => listener.connections === 0, "the connection to be forgotten");
  });
  it("a response of exactly the frame limit is sent; the GoAway frame has no header", async () => {
    const { listener, requests, peer } = await serve({ maxFrameBytes: 300 });
    const p = await peer();
    p.socket.write(Buffer.concat([PREFACE, requestFrame(1, "svc", "A.a")]));
    await until(() => requests.length === 1, "the request");
    const overhead = encodeFrame(FrameType.Response, 1, "", Buffer.alloc(0)).length;
    requests[0]!.respond({ contentType: "application/json", body: Buffer.alloc(300 - overhead) });
    await until(() => p.frames.length === 1, "the answer");
    assert.equal(p.frames[0]!.type, FrameType.Response, "exactly the limit is not over it");
    assert.equal(p.frames[0]!.body.length, 300 - overhead);
    await listener.stopAccepting();
    await until(() => p.frames.length === 2, "the GoAway");
    assert.deepEqual([p.frames[1]!.type, p.frames[1]!.header.length], [FrameType.GoAway, 0]);
  });

  it("an oversized frame that is not a request gets no 413 (nothing to answer); the connection goes on", async () => {
    const { peer } = await serve({ maxFrameBytes: 300 });
    const p = await peer();
    p.socket.write(
      Buffer.concat([
        PREFACE,
        encodeFrame(FrameType.StreamMessage, 9, "", Buffer.alloc(400)),
        encodeFrame(FrameType.Ping, 4, "", Buffer.alloc(0)),
      ]),
    );
    await until(() => p.frames.length >= 1, "the pong");
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      p.frames.map((f) => [f.type, f.id]),
      [[FrameType.Pong, 4]],
      "only the pong: no error for a stream that is not open",
    );
  });

  it("the preface alone, exactly, completes the handshake (no wait for more bytes)", async () => {
    const { requests, peer } = await serve({ handshakeTimeoutMs: 150 });
    const p = await peer();
    p.socket.write(PREFACE);
    await new Promise((r) => setTimeout(r, 400)); // past the handshake timeout
    assert.equal(p.closed, false, "the handshake was done by the preface alone");
    p.socket.write(requestFrame(1, "svc", "A.a"));
    await until(() => requests.length === 1, "the request after the preface");
  });

  it("a peer that resets its connection does not take the server down", async () => {
    const { requests, peer } = await serve({ maxConnections: 1 });
    const a = await peer();
    a.socket.write(Buffer.concat([PREFACE, requestFrame(1, "svc", "A.a")]));
    await until(() => requests.length === 1, "the first request");
    // The refused one resets too, while the server writes its 503.
    const refusedPeer = await peer();
    refusedPeer.socket.resetAndDestroy();
    a.socket.resetAndDestroy();
    await until(() => requests[0]!.signal.aborted, "the reset to reach the handler");
    const b = await peer();
    b.socket.write(Buffer.concat([PREFACE, requestFrame(1, "svc", "B.b")]));
    await until(() => requests.length === 2, "a request after the resets");
  });

  it("close() ends open connections, so a peer that sits idle is closed too", async () => {
    const { listener, peer } = await serve();
    const p = await peer();
    p.socket.write(PREFACE);
    await until(() => listener.connections === 1, "the connection");
    await within(listener.close(), 5000, "the listener to close");
    await p.waitClosed(3000, "the server to end the idle connection");
  });
  it("no preface in time is a 408 from tsmicro (id 0), and the connection is closed", async () => {
    const { peer } = await serve({ handshakeTimeoutMs: 100 });
    const p = await peer();
    await p.waitClosed(5000, "the silent connection to be closed");
    const f = p.frames[0]!;
    assert.equal(f.id, 0);
    assert.deepEqual([wire(f).code, wire(f).id], [408, "tsmicro"]);
  });
  it("a peer that never answers the server's FIN is cut after a second: after a refusal, and on close", async () => {
    const { listener, peer } = await serve({ maxConnections: 1 });
    const refusedOne = await peer(true);
    refusedOne.socket.write(Buffer.from("NOPE"));
    await until(() => refusedOne.frames.length === 1, "the refusal");
    await until(() => listener.connections === 0, "the refused connection destroyed after the grace", 4000);

    const kept = await peer(true);
    kept.socket.write(PREFACE);
    await until(() => listener.connections === 1, "a connection");
    await within(listener.close(), 4000, "close() with a peer that never answers the FIN");
    await until(() => listener.connections === 0, "the half-open connection destroyed after the grace", 4000);
  });
  it("a disconnect ends the open streams with the same 499 as the requests", async () => {
    const streams: InboundStream[] = [];
    const { peer } = await serve({ streamHandler: (st) => streams.push(st) });
    const p = await peer();
    const open = encodeRequestHeaders({ service: "svc", endpoint: "S.s", contentType: "application/json" });
    p.socket.write(Buffer.concat([PREFACE, encodeFrame(FrameType.StreamMessage, 5, open, Buffer.alloc(0))]));
    await until(() => streams.length === 1, "the stream to open");
    p.socket.destroy();
    const reason = await within(streams[0]!.finished, 5000, "the stream to end on the disconnect");
    assert.equal(reason?.code, 499);
    assert.equal(reason.id, "tsmicro");
    assert.match(reason.detail, /^the caller 127\.0\.0\.1:\d+ disconnected$/);
  });
});
