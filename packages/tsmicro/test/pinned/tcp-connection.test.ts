/**
 * Pinned behaviours of the client's end of a TCP connection (transport/tcp-connection.ts) against
 * a scripted server on loopback that reads the client's frames and writes whatever the test says:
 * the preface, ids, responses matched by id with their content type, per-request and
 * connection-level errors, GoAway, ping and pong, cancel on abort, the frame limit both ways, a
 * protocol error, a closed or reset connection, close (at once or once idle), and the keepalive.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { isTransportFailure } from "../../src/transport/failure.js";
import { encodeFrame, type Frame, FrameDecoder, FrameType, PREFACE } from "../../src/transport/frame.js";
import {
  decodeRequestHeaders,
  encodeRequestHeaders,
  encodeResponseHeaders,
} from "../../src/transport/headers.js";
import { TcpConnection } from "../../src/transport/tcp-connection.js";
import type { TransportRequest } from "../../src/transport/transport.js";
import { LightAbort } from "../../src/util/light-abort.js";
import { microError, until, within } from "../helpers.js";

/** One accepted connection as the scripted server sees it. */
interface Peer {
  socket: Socket;
  preface: Buffer;
  frames: Frame[];
  ended: boolean;
  send(frame: Buffer): void;
}

async function scriptedServer(halfOpen = false): Promise<{ server: Server; address: string; peers: Peer[] }> {
  const peers: Peer[] = [];
  // halfOpen: the server never answers the client's FIN with its own.
  const server = createServer({ allowHalfOpen: halfOpen }, (socket) => {
    let buffered = Buffer.alloc(0);
    const peer: Peer = {
      socket,
      preface: Buffer.alloc(0),
      frames: [],
      ended: false,
      send: (f) => socket.write(f),
    };
    const decoder = new FrameDecoder(64 * 1024 * 1024, {
      frame: (f) => peer.frames.push(f),
      oversized: () => {},
    });
    socket.on("error", () => {});
    socket.on("end", () => {
      peer.ended = true;
    });
    socket.on("data", (chunk: Buffer) => {
      if (peer.preface.length < PREFACE.length) {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < PREFACE.length) return;
        peer.preface = buffered.subarray(0, PREFACE.length);
        chunk = buffered.subarray(PREFACE.length);
      }
      decoder.push(chunk);
    });
    peers.push(peer);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { server, address: `127.0.0.1:${port}`, peers };
}

const req = (endpoint: string, body = "{}"): TransportRequest => ({
  headers: { service: "svc", endpoint, contentType: "application/json" },
  body: Buffer.from(body),
});

describe("tcp connection (pinned)", { timeout: 30_000 }, () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  // Whatever a failed test left open: the process must still exit at once.
  after(() => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
  });

  async function open(maxFrameBytes = 1024 * 1024, keepaliveMs = 0, halfOpen = false) {
    const s = await scriptedServer(halfOpen);
    servers.push(s.server);
    const i = s.address.lastIndexOf(":");
    const socket = connect({ host: "127.0.0.1", port: Number(s.address.slice(i + 1)) });
    await new Promise<void>((r) => socket.once("connect", () => r()));
    const conn = new TcpConnection(socket, s.address, maxFrameBytes, keepaliveMs);
    await until(() => s.peers.length === 1, "the server to accept");
    const peer = s.peers[0]!;
    sockets.push(socket, peer.socket);
    return { conn, peer, address: s.address, socket };
  }

  it("sends the preface, then requests with increasing ids; answers are matched by id, with their content type", async () => {
    const { conn, peer } = await open();
    assert.equal(conn.usable, true);
    const a = conn.request(req("A.a", '{"n":1}'), new LightAbort());
    const b = conn.request(req("B.b"), new LightAbort());
    await until(() => peer.frames.length === 2, "two request frames");
    assert.deepEqual(peer.preface, PREFACE);
    assert.deepEqual(
      peer.frames.map((f) => [f.type, f.id]),
      [
        [FrameType.Request, 1],
        [FrameType.Request, 2],
      ],
    );
    const h = decodeRequestHeaders(peer.frames[0]!.header, {
      maxHeaderBytes: 65536,
      maxMetadataEntries: 128,
    });
    assert.equal(h.endpoint, "A.a");
    assert.equal(peer.frames[0]!.body.toString(), '{"n":1}');
    assert.equal(conn.inflight, 2);
    peer.send(
      encodeFrame(FrameType.Response, 2, encodeResponseHeaders("application/msgpack"), Buffer.from("B")),
    );
    peer.send(encodeFrame(FrameType.Response, 77, "", Buffer.from("nobody's")));
    peer.send(encodeFrame(FrameType.Response, 1, "", Buffer.from("A")));
    const [ra, rb] = await within(Promise.all([a, b]), 5000, "both answers");
    assert.deepEqual([ra.contentType, ra.body.toString()], ["application/json", "A"]);
    assert.deepEqual([rb.contentType, rb.body.toString()], ["application/msgpack", "B"]);
    assert.equal(conn.inflight, 0);
    conn.close();
  });

  it("an error frame fails its request only; one with id 0 refuses the whole connection", async () => {
    const { conn, peer } = await open();
    const a = conn.request(req("A.a"), new LightAbort());
    const b = conn.request(req("B.b"), new LightAbort());
    const c = conn.request(req("C.c"), new LightAbort());
    await until(() => peer.frames.length === 3, "three requests");
    const err = (code: number, detail: string) => Buffer.from(JSON.stringify({ id: "svc", code, detail }));
    peer.send(encodeFrame(FrameType.Error, 1, "", err(409, "conflict")));
    const ea = await microError(a, "request 1's error");
    assert.equal(ea.code, 409);
    assert.equal(ea.detail, "conflict");
    assert.equal(conn.usable, true);
    peer.send(encodeFrame(FrameType.Error, 0, "", err(503, "too many connections")));
    for (const p of [b, c]) {
      const e = await microError(p, "the connection's refusal");
      assert.equal(e.code, 503);
      assert.equal(e.detail, "too many connections");
    }
    await within(conn.closed, 5000, "the refused connection to close");
    assert.equal(conn.usable, false);
    const late = await microError(conn.request(req("D.d"), new LightAbort()), "a request after the close");
    assert.equal(late.code, 503);
    assert.equal(late.detail, `connection to ${conn.address} is closing`);
    assert.equal(isTransportFailure(late), true);
    assert.equal(late.refused, true, "refused: nothing was sent, safe to retry elsewhere");
    assert.throws(
      () => conn.stream(req("S.s").headers, new AbortController().signal),
      (e: { detail?: string; refused?: boolean }) => /is closing/.test(e.detail ?? "") && e.refused === true,
    );
  });

  it("GoAway: no new requests, answers still come, and the connection closes once idle", async () => {
    const { conn, peer } = await open();
    const a = conn.request(req("A.a"), new LightAbort());
    await until(() => peer.frames.length === 1, "the request");
    peer.send(encodeFrame(FrameType.GoAway, 0, "", Buffer.alloc(0)));
    await until(() => !conn.usable, "GoAway to make the connection unusable");
    assert.equal(peer.ended, false, "not closed while a request is in flight");
    peer.send(encodeFrame(FrameType.Response, 1, "", Buffer.from("late")));
    assert.equal((await within(a, 5000, "the answer after GoAway")).body.toString(), "late");
    await until(() => peer.ended, "the client to close once idle");
  });

  it("answers a ping with a pong of the same id; ignores a frame type it does not know", async () => {
    const { conn, peer } = await open();
    peer.send(encodeFrame(FrameType.Pong, 5, "", Buffer.alloc(0)));
    peer.send(encodeFrame(FrameType.Ping, 42, "", Buffer.alloc(0)));
    await until(() => peer.frames.length === 1, "the pong");
    assert.deepEqual([peer.frames[0]!.type, peer.frames[0]!.id], [FrameType.Pong, 42]);
    assert.equal(peer.frames[0]!.header.length, 0, "a pong has no header");
    assert.equal(conn.usable, true);
    conn.close();
  });

  it("an abort cancels on the wire and rejects with the reason; an aborted signal sends nothing", async () => {
    const { conn, peer } = await open();
    const signal = new LightAbort();
    const a = conn.request(req("A.a"), signal);
    await until(() => peer.frames.length === 1, "the request");
    signal.abort(new Error("user left"));
    const e = await microError(a, "the aborted request");
    assert.equal(e.code, 499);
    assert.match(e.detail, /user left/);
    await until(() => peer.frames.length === 2, "the cancel frame");
    assert.deepEqual([peer.frames[1]!.type, peer.frames[1]!.id], [FrameType.Cancel, 1]);
    assert.equal(peer.frames[1]!.header.length, 0, "a cancel has no header");
    assert.equal(conn.inflight, 0);
    peer.send(encodeFrame(FrameType.Response, 1, "", Buffer.from("too late")));

    const done = new LightAbort();
    done.abort("gone already");
    const pre = await microError(conn.request(req("B.b"), done), "a request with an aborted signal");
    assert.match(pre.detail, /gone already/);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(peer.frames.length, 2, "nothing sent for it");
    conn.close();
  });

  it("the frame limit: an oversized request is refused before sending (413, not retryable); an oversized answer fails its request only", async () => {
    const { conn, peer, address } = await open(200);
    const big = await microError(
      conn.request(req("A.big", "x".repeat(300)), new LightAbort()),
      "an oversized request",
    );
    assert.equal(big.code, 413);
    assert.equal(big.retryable, false);
    assert.match(big.detail, /^request to svc\.A\.big is \d+ bytes, over the frame limit of 200 bytes$/);
    const a = conn.request(req("A.a"), new LightAbort());
    const b = conn.request(req("B.b"), new LightAbort());
    await until(() => peer.frames.length === 2, "two requests");
    assert.deepEqual(
      peer.frames.map((f) => f.id),
      [1, 2],
      "the refused request took no id on the wire",
    );
    peer.send(encodeFrame(FrameType.Response, 1, "", Buffer.alloc(500)));
    peer.send(encodeFrame(FrameType.Response, 2, "", Buffer.from("ok")));
    const e = await microError(a, "the oversized answer");
    assert.equal(e.code, 413);
    assert.match(
      e.detail,
      new RegExp(`^response of \\d+ bytes from ${address} exceeds the client's frame limit of 200 bytes$`),
    );
    assert.equal((await within(b, 5000, "the answer beside the oversized one")).body.toString(), "ok");
    assert.equal(conn.usable, true);
    conn.close();
  });

  it("garbage from the server fails every request with a protocol error and closes", async () => {
    const { conn, peer, address } = await open();
    const a = conn.request(req("A.a"), new LightAbort());
    await until(() => peer.frames.length === 1, "the request");
    peer.send(Buffer.from([0, 0, 0, 20, 99, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    const e = await microError(a, "the protocol error");
    assert.equal(e.code, 503);
    assert.ok(e.detail.startsWith(`protocol error from ${address}: `), e.detail);
    await within(conn.closed, 5000, "the connection to close");
  });

  it("a closed connection fails what is in flight as a retryable transport failure; a reset names the socket's error", async () => {
    const one = await open();
    const a = one.conn.request(req("A.a"), new LightAbort());
    await until(() => one.peer.frames.length === 1, "the request");
    one.peer.socket.end();
    const e = await microError(a, "the closed connection");
    assert.equal(e.code, 503);
    assert.equal(e.detail, `connection to ${one.address} closed`);
    assert.equal(isTransportFailure(e), true);
    assert.equal(one.conn.usable, false);

    const two = await open();
    const b = two.conn.request(req("B.b"), new LightAbort());
    await until(() => two.peer.frames.length === 1, "the request");
    two.peer.socket.resetAndDestroy();
    const r = await microError(b, "the reset connection");
    assert.match(r.detail, new RegExp(`^connection to ${two.address} failed: .*ECONNRESET`));
    assert.equal(
      (r.cause as NodeJS.ErrnoException | undefined)?.code,
      "ECONNRESET",
      "the socket's error is the cause",
    );
    assert.equal(isTransportFailure(r), true);
  });

  it("close(true) waits for the requests in flight; close() ends at once", async () => {
    const { conn, peer } = await open();
    const a = conn.request(req("A.a"), new LightAbort());
    await until(() => peer.frames.length === 1, "the request");
    conn.close(true);
    assert.equal(conn.usable, false);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(peer.ended, false, "graceful: still open with a request in flight");
    peer.send(encodeFrame(FrameType.Response, 1, "", Buffer.from("done")));
    await within(a, 5000, "the answer once idle-close was asked");
    await until(() => peer.ended, "the close once idle");

    const other = await open();
    other.conn.close(true);
    await until(() => other.peer.ended, "a graceful close with nothing in flight: at once");

    const busy = await open();
    const b = microError(
      busy.conn.request(req("B.b"), new LightAbort()),
      "the request of a connection closed at once",
    );
    await until(() => busy.peer.frames.length === 1, "the request");
    busy.conn.close();
    await until(() => busy.peer.ended, "close() with a request in flight: at once, not once idle");
    busy.peer.socket.end();
    assert.equal((await b).code, 503);
  });

  it("keepalive: with a request in flight and nothing heard, a ping; no answer for as long again fails the connection", async () => {
    const { conn, peer } = await open(1024 * 1024, 60);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(peer.frames.length, 0, "no ping while nothing is in flight");
    const a = conn.request(req("A.a"), new LightAbort());
    await until(() => peer.frames.some((f) => f.type === FrameType.Ping), "the keepalive ping");
    const ping = peer.frames.find((f) => f.type === FrameType.Ping)!;
    assert.deepEqual([ping.id, ping.header.length], [0, 0]);
    const e = await microError(a, "the keepalive failure");
    assert.equal(e.code, 503);
    assert.match(e.detail, /: nothing heard for \d+ ms, no answer to a ping, with 1 request\(s\) in flight$/);
    const silentMs = Number(/nothing heard for (\d+) ms/.exec(e.detail)![1]);
    assert.ok(
      silentMs >= 60 && silentMs < 10_000,
      `the silence measured from the last byte heard: ${silentMs} ms`,
    );
    assert.equal(isTransportFailure(e), true);
  });

  it("keepalive: a server that answers the ping keeps the connection", async () => {
    // 300 ms: a loaded machine's stall must not outlast a whole interval between ping and pong.
    const { conn, peer } = await open(1024 * 1024, 300);
    const a = conn.request(req("A.a"), new LightAbort());
    let pongs = 0;
    const answerPings = setInterval(() => {
      for (const f of peer.frames.splice(0)) {
        if (f.type === FrameType.Ping) {
          pongs++;
          peer.send(encodeFrame(FrameType.Pong, f.id, "", Buffer.alloc(0)));
        }
      }
    }, 10);
    try {
      await until(() => pongs >= 2, "two pings answered", 5000);
      assert.equal(conn.usable, true);
      peer.send(encodeFrame(FrameType.Response, 1, "", Buffer.from("slow but alive")));
      assert.equal((await within(a, 5000, "the slow answer")).body.toString(), "slow but alive");
    } finally {
      clearInterval(answerPings);
      conn.close();
    }
  });
  it("keepalive: no ping while the server is heard from, however long a request waits", async () => {
    const { conn, peer } = await open(1024 * 1024, 80);
    const a = conn.request(req("A.a"), new LightAbort());
    // Frames every 20 ms (unsolicited pongs, which the client ignores): the link is alive.
    const chatter = setInterval(() => peer.send(encodeFrame(FrameType.Pong, 9, "", Buffer.alloc(0))), 20);
    try {
      await new Promise((r) => setTimeout(r, 400));
      assert.deepEqual(
        peer.frames.filter((f) => f.type === FrameType.Ping).length,
        0,
        "no ping while bytes keep coming",
      );
      assert.equal(conn.usable, true);
    } finally {
      clearInterval(chatter);
    }
    peer.send(encodeFrame(FrameType.Response, 1, "", Buffer.from("ok")));
    await within(a, 5000, "the answer");
    conn.close();
  });

  it("a request of exactly the frame limit is sent", async () => {
    const { conn, peer } = await open(200);
    const r = req("A.a", "");
    const overhead = encodeFrame(
      FrameType.Request,
      0,
      encodeRequestHeaders(r.headers),
      Buffer.alloc(0),
    ).length;
    const a = conn.request({ ...r, body: Buffer.alloc(200 - overhead) }, new LightAbort());
    await until(() => peer.frames.length === 1, "the request of exactly the limit on the wire");
    peer.send(encodeFrame(FrameType.Response, 1, "", Buffer.from("ok")));
    await within(a, 5000, "its answer");
    conn.close();
  });
  it("close() does not wait for ever for a peer that never answers its FIN", async () => {
    const { conn, peer } = await open(1024 * 1024, 0, true);
    conn.close();
    await until(() => peer.ended, "the client's FIN");
    await within(conn.closed, 3000, "the socket destroyed a second after the FIN went unanswered");
  });

  it("a stream message over the client's frame limit ends that stream with a 413; requests go on", async () => {
    const { conn, peer } = await open(200);
    const s = conn.stream(req("S.s").headers, new AbortController().signal);
    await until(() => peer.frames.length === 1, "the stream's open");
    const id = peer.frames[0]!.id;
    peer.send(encodeFrame(FrameType.StreamMessage, id, "", Buffer.alloc(500)));
    const e = await within(s.finished, 5000, "the stream to end on the oversized message");
    assert.equal(e?.code, 413);
    assert.match(e.detail, /^stream message of \d+ bytes exceeds the client's frame limit of 200 bytes$/);
    assert.equal(conn.usable, true);
    conn.close();
  });
});
