/**
 * Limits against hostile or broken peers, enforced per server connection: how many
 * connections, how many requests in flight on one, how long the handshake and one frame may
 * take, how long a connection may sit idle, and how many unsent answers may queue for a peer
 * that does not read them. Each limit answers with a clear error where the wire allows one
 * and is logged once per kind per window, never per frame.
 */
import type { Socket } from "node:net";
import { type DeadlineTimer, MAX_TIMER_MS, startTimer, stopTimer } from "../util/deadline.js";

export interface ConnectionLimits {
  /** Most connections one listener serves at once; the next is answered with a 503 and closed. @default 1024 */
  maxConnections: number;
  /**
   * Most requests in flight on one connection; further ones are answered with a 429. High on
   * purpose: connections are multiplexed and nested chains share them, so a low cap would turn
   * "pool size bounds sockets, not calls" back into a limit on calls. @default 4096
   */
  maxInflightPerConnection: number;
  /**
   * Time from accept until the client's preface has arrived (including the TLS handshake):
   * cuts off a peer that opens a socket and sends nothing. @default 10000
   */
  handshakeTimeoutMs: number;
  /**
   * A frame, once begun, must arrive whole within this time: cuts off a peer that dribbles a
   * byte at a time. @default 30000
   */
  frameTimeoutMs: number;
  /** A connection with nothing in flight and no traffic for this long is sent away. @default 300000 */
  idleTimeoutMs: number;
  /**
   * Unsent answers queued for one connection, in bytes, past which the server stops reading
   * from it until the peer reads (a peer that floods requests and never reads answers).
   * @default 8 MiB
   */
  maxWriteBufferBytes: number;
}

export const DEFAULT_CONNECTION_LIMITS = {
  maxConnections: 1024,
  maxInflightPerConnection: 4096,
  handshakeTimeoutMs: 10_000,
  frameTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
  maxWriteBufferBytes: 8 * 1024 * 1024,
} satisfies ConnectionLimits;

/** How long a connection told to go away (or refused) may linger before it is destroyed. */
export const CLOSE_GRACE_MS = 1000;

/** Checks limit values once, with a TypeError that names the bad option. */
export function validateLimits(limits: ConnectionLimits): void {
  for (const [k, v] of Object.entries(limits)) {
    if (!(typeof v === "number" && v > 0)) {
      throw new TypeError(`tcp transport option ${k} must be a number > 0, got ${String(v)}`);
    }
  }
}

/**
 * A log that says each kind of event once per window and then how many more there were, so a
 * flood of refused peers costs a few lines, not one per connection or frame.
 */
export interface LimitLog {
  report(kind: string, message: string): void;
}

export function createLimitLog(log: (message: string) => void, windowMs = 10_000): LimitLog {
  const suppressed = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    for (const [kind, n] of suppressed) {
      if (n > 0) log(`tsmicro: ${n} more "${kind}" in the last ${windowMs / 1000} s`);
    }
    suppressed.clear();
  };
  return {
    report(kind, message) {
      const n = suppressed.get(kind);
      if (n === undefined) {
        suppressed.set(kind, 0);
        log(message);
        timer ??= setTimeout(flush, windowMs);
        timer.unref();
      } else {
        suppressed.set(kind, n + 1);
      }
    },
  };
}

/** What a connection guard needs from the connection it watches. */
export interface GuardHooks {
  /** Answer with a connection-level error and close (logged by the caller). */
  refuse(kind: string, detail: string): void;
  /** Tell the peer to go away (GoAway frame). */
  goAway(): void;
  /** Requests (and streams) in flight on the connection. */
  inflight(): number;
}

/** The decoder state a guard reads after each chunk. */
export interface DecoderProgress {
  /** Bytes of a frame begun but not finished (held or being skipped). */
  readonly pending: number;
  /** Frames finished so far (delivered or skipped as oversized). */
  readonly completed: number;
}

export interface ConnectionGuard {
  /** The preface has arrived: the handshake deadline no longer applies. */
  handshakeDone(): void;
  /** Called after each chunk was decoded: starts, restarts or stops the frame deadline. */
  afterChunk(progress: DecoderProgress): void;
  /** Stops reading while too many answers are queued for a peer that does not read them. */
  checkBackpressure(): void;
  /** Clears every timer (the connection closed). */
  dispose(): void;
}

/** Watches one server connection for the time and memory limits. */
export function guardConnection(
  socket: Socket,
  limits: ConnectionLimits,
  hooks: GuardHooks,
): ConnectionGuard {
  // User-set delays: on the deadline helper (Infinity = no limit; longer than a timer holds is chained).
  let handshake: DeadlineTimer = startTimer(
    () =>
      hooks.refuse(
        "handshake timeout",
        `handshake timeout: no tsmicro preface within ${limits.handshakeTimeoutMs} ms of connecting`,
      ),
    limits.handshakeTimeoutMs,
  );
  let frame: DeadlineTimer;
  let completedAtStart = -1;
  let paused = false;
  let goneAway = false;

  // socket.setTimeout throws on Infinity and clamps beyond MAX_TIMER_MS: no idle limit, or the longest.
  if (limits.idleTimeoutMs !== Number.POSITIVE_INFINITY)
    socket.setTimeout(Math.min(limits.idleTimeoutMs, MAX_TIMER_MS));
  const onIdle = () => {
    // A connection waiting on a slow handler is busy, not idle.
    if (hooks.inflight() > 0 || goneAway) return;
    goneAway = true;
    hooks.goAway();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  };
  socket.on("timeout", onIdle);
  const onDrain = () => {
    paused = false;
    socket.resume();
  };

  return {
    handshakeDone() {
      stopTimer(handshake);
      handshake = undefined;
    },
    afterChunk(progress) {
      if (progress.pending === 0) {
        stopTimer(frame);
        frame = undefined;
        return;
      }
      // Restart the clock whenever a frame finished since it started: only a frame that
      // itself takes too long is cut off, not a steady stream of frames.
      if (frame !== undefined && progress.completed === completedAtStart) return;
      stopTimer(frame);
      completedAtStart = progress.completed;
      frame = startTimer(
        () =>
          hooks.refuse(
            "frame timeout",
            `frame timeout: a frame was not completed within ${limits.frameTimeoutMs} ms (${progress.pending} bytes pending); the peer is too slow`,
          ),
        limits.frameTimeoutMs,
      );
    },
    checkBackpressure() {
      if (paused || socket.writableLength <= limits.maxWriteBufferBytes) return;
      paused = true;
      socket.pause();
      socket.once("drain", onDrain);
    },
    dispose() {
      stopTimer(handshake);
      stopTimer(frame);
      socket.off("timeout", onIdle);
      socket.off("drain", onDrain);
    },
  };
}
