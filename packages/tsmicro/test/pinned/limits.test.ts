/**
 * Pinned behaviours of the server connection limits (transport/limits.ts): their defaults, the
 * TypeError that names a bad one, the log that says each kind once per window and then how many
 * more, and the guard on one connection (handshake and frame deadlines, the idle GoAway, the
 * pause while a peer does not read its answers), driven through a stand-in socket and mock timers.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import {
  CLOSE_GRACE_MS,
  type ConnectionLimits,
  createLimitLog,
  DEFAULT_CONNECTION_LIMITS,
  guardConnection,
  validateLimits,
} from "../../src/transport/limits.js";
import { MAX_TIMER_MS } from "../../src/util/deadline.js";
import { exitsAlone } from "../support/exits-alone.js";

/** What the guard uses of a socket, counted. */
class FakeSocket extends EventEmitter {
  idle: number[] = [];
  paused = 0;
  resumed = 0;
  destroyed = 0;
  writableLength = 0;
  setTimeout(ms: number): this {
    this.idle.push(ms);
    return this;
  }
  pause(): this {
    this.paused++;
    return this;
  }
  resume(): this {
    this.resumed++;
    return this;
  }
  destroy(): this {
    this.destroyed++;
    return this;
  }
}

interface Hooks {
  refused: [string, string][];
  goAways: number;
  inflight: number;
}

function guard(limits: Partial<ConnectionLimits> = {}) {
  const socket = new FakeSocket();
  const seen: Hooks = { refused: [], goAways: 0, inflight: 0 };
  const g = guardConnection(
    socket as unknown as Socket,
    { ...DEFAULT_CONNECTION_LIMITS, ...limits },
    {
      refuse: (kind, detail) => seen.refused.push([kind, detail]),
      goAway: () => seen.goAways++,
      inflight: () => seen.inflight,
    },
  );
  return { socket, seen, g };
}

describe("connection limits (pinned)", { timeout: 10_000 }, () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 }));
  afterEach(() => mock.timers.reset());

  it("defaults: 1024 connections, 4096 in flight, 10 s handshake, 30 s frame, 5 min idle, 8 MiB unsent; 1 s grace", () => {
    assert.deepEqual(DEFAULT_CONNECTION_LIMITS, {
      maxConnections: 1024,
      maxInflightPerConnection: 4096,
      handshakeTimeoutMs: 10_000,
      frameTimeoutMs: 30_000,
      idleTimeoutMs: 300_000,
      maxWriteBufferBytes: 8_388_608,
    });
    assert.equal(CLOSE_GRACE_MS, 1000);
    validateLimits(DEFAULT_CONNECTION_LIMITS);
    validateLimits({
      ...DEFAULT_CONNECTION_LIMITS,
      idleTimeoutMs: Number.POSITIVE_INFINITY,
      frameTimeoutMs: 0.5,
    });
  });

  it("a limit that is not a number above 0 is a TypeError naming the option and the value", () => {
    for (const [bad, shown] of [
      [0, "0"],
      [-1, "-1"],
      [Number.NaN, "NaN"],
      ["5", "5"],
      [undefined, "undefined"],
    ] as const) {
      for (const key of Object.keys(DEFAULT_CONNECTION_LIMITS)) {
        assert.throws(
          () => validateLimits({ ...DEFAULT_CONNECTION_LIMITS, [key]: bad }),
          (e: unknown) =>
            e instanceof TypeError &&
            e.message === `tcp transport option ${key} must be a number > 0, got ${shown}`,
          `${key} = ${String(bad)}`,
        );
      }
    }
  });

  it("the log says each kind once, then how many more in the window; after the window it says it again", () => {
    const logged: string[] = [];
    const log = createLimitLog((m) => logged.push(m), 2000);
    log.report("flood", "first flood");
    log.report("flood", "second flood");
    log.report("flood", "third flood");
    log.report("slow", "first slow");
    assert.deepEqual(logged, ["first flood", "first slow"]);
    mock.timers.tick(1999);
    assert.equal(logged.length, 2, "nothing before the window ends");
    mock.timers.tick(1);
    assert.deepEqual(
      logged.slice(2),
      ['tsmicro: 2 more "flood" in the last 2 s'],
      "a kind said once adds nothing",
    );
    log.report("flood", "fourth flood");
    log.report("slow", "second slow");
    assert.deepEqual(logged.slice(3), ["fourth flood", "second slow"], "a new window says each kind again");
    log.report("slow", "third slow");
    mock.timers.tick(2000);
    assert.deepEqual(logged.slice(5), ['tsmicro: 1 more "slow" in the last 2 s']);
    mock.timers.tick(60_000);
    assert.equal(logged.length, 6, "one flush per window, none once quiet");
  });

  it("the log's window is 10 s by default, one timer for all kinds", () => {
    const logged: string[] = [];
    const log = createLimitLog((m) => logged.push(m));
    log.report("a", "a");
    mock.timers.tick(4000);
    log.report("b", "b");
    log.report("b", "b");
    log.report("a", "a");
    mock.timers.tick(5999);
    assert.deepEqual(logged, ["a", "b"]);
    mock.timers.tick(1);
    assert.deepEqual(logged.slice(2).sort(), [
      'tsmicro: 1 more "a" in the last 10 s',
      'tsmicro: 1 more "b" in the last 10 s',
    ]);
  });

  it("the log's window timer does not keep a process alive", async () => {
    mock.timers.reset();
    const src = new URL("../../src/transport/limits.ts", import.meta.url).pathname;
    await exitsAlone(
      `import { createLimitLog } from ${JSON.stringify(src)}; createLimitLog(() => {}, 60000).report("k", "m")`,
      "a limit log's 60 s window",
    );
  });

  it("handshake: refused with the limit named once the preface is late; not once it has arrived", () => {
    const late = guard({ handshakeTimeoutMs: 500 });
    mock.timers.tick(499);
    assert.deepEqual(late.seen.refused, []);
    mock.timers.tick(1);
    assert.deepEqual(late.seen.refused, [
      ["handshake timeout", "handshake timeout: no tsmicro preface within 500 ms of connecting"],
    ]);
    late.g.dispose();

    const onTime = guard({ handshakeTimeoutMs: 500 });
    mock.timers.tick(400);
    onTime.g.handshakeDone();
    mock.timers.tick(10_000);
    assert.deepEqual(onTime.seen.refused, []);
    onTime.g.handshakeDone();
    onTime.g.dispose();
  });

  it("frame: a begun frame must finish in time; finished frames restart the clock, an unchanged count does not", () => {
    const { seen, g } = guard({ handshakeTimeoutMs: Number.POSITIVE_INFINITY, frameTimeoutMs: 1000 });
    g.afterChunk({ pending: 10, completed: 0 });
    mock.timers.tick(600);
    g.afterChunk({ pending: 20, completed: 0 });
    mock.timers.tick(399);
    assert.deepEqual(seen.refused, [], "the clock runs from the frame's start");
    mock.timers.tick(1);
    assert.deepEqual(seen.refused, [
      [
        "frame timeout",
        "frame timeout: a frame was not completed within 1000 ms (10 bytes pending); the peer is too slow",
      ],
    ]);

    seen.refused.length = 0;
    g.afterChunk({ pending: 5, completed: 1 });
    mock.timers.tick(900);
    g.afterChunk({ pending: 5, completed: 2 });
    mock.timers.tick(900);
    assert.deepEqual(seen.refused, [], "a frame that finished restarted the clock");
    g.afterChunk({ pending: 0, completed: 3 });
    mock.timers.tick(5000);
    assert.deepEqual(seen.refused, [], "nothing pending: no frame deadline");
    g.afterChunk({ pending: 7, completed: 3 });
    mock.timers.tick(999);
    assert.deepEqual(seen.refused, [], "a frame begun after a quiet spell gets its whole time");
    mock.timers.tick(1);
    assert.equal(seen.refused.length, 1);
    assert.match(seen.refused[0]![1], /\(7 bytes pending\)/);
    g.dispose();
  });

  it("dispose stops the handshake and frame deadlines", () => {
    const { seen, g } = guard({ handshakeTimeoutMs: 100, frameTimeoutMs: 100 });
    g.afterChunk({ pending: 1, completed: 0 });
    g.dispose();
    mock.timers.tick(1000);
    assert.deepEqual(seen.refused, []);
  });

  it("idle: the socket's timeout is the limit (capped, none for Infinity); an idle connection is sent away once and destroyed after the grace", () => {
    assert.deepEqual(guard({ idleTimeoutMs: 700 }).socket.idle, [700]);
    assert.deepEqual(guard({ idleTimeoutMs: MAX_TIMER_MS * 4 }).socket.idle, [MAX_TIMER_MS]);
    assert.deepEqual(guard({ idleTimeoutMs: Number.POSITIVE_INFINITY }).socket.idle, []);

    const { socket, seen, g } = guard({ handshakeTimeoutMs: Number.POSITIVE_INFINITY });
    seen.inflight = 2;
    socket.emit("timeout");
    assert.equal(seen.goAways, 0, "a connection waiting on its handlers is busy, not idle");
    seen.inflight = 0;
    socket.emit("timeout");
    socket.emit("timeout");
    assert.equal(seen.goAways, 1, "sent away once");
    mock.timers.tick(CLOSE_GRACE_MS - 1);
    assert.equal(socket.destroyed, 0);
    mock.timers.tick(1);
    assert.equal(socket.destroyed, 1);
    g.dispose();
    assert.equal(socket.listenerCount("timeout"), 0, "dispose stops listening");
  });

  it("backpressure: past the unsent limit reading pauses once, and resumes on drain; dispose drops the drain listener", () => {
    const { socket, g } = guard({ maxWriteBufferBytes: 100 });
    socket.writableLength = 100;
    g.checkBackpressure();
    assert.equal(socket.paused, 0, "at the limit: still reading");
    socket.writableLength = 101;
    g.checkBackpressure();
    g.checkBackpressure();
    assert.equal(socket.paused, 1, "paused once");
    assert.equal(socket.listenerCount("drain"), 1);
    socket.emit("drain");
    assert.equal(socket.resumed, 1);
    g.checkBackpressure();
    assert.equal(socket.paused, 2, "after a drain it can pause again");
    g.dispose();
    assert.equal(socket.listenerCount("drain"), 0);
    socket.emit("drain");
    assert.equal(socket.resumed, 1);
  });
});
