/**
 * A closed stdout (`tsmicro describe x | head -1`) ends the command quietly: node reports the
 * closed pipe as an `EPIPE` error event on the stream, which is fatal when nobody listens.
 * Further writes are dropped, and `closed` aborts so that long-running commands (watch,
 * subscribe, run) stop as they would on Ctrl-C.
 */
import type { Writable } from "node:stream";

const watched = new WeakMap<Writable, AbortSignal>();

/** The signal that aborts when `stream`'s reader goes away; installs the listener once per stream. */
export function closedSignal(stream: Writable): AbortSignal {
  let signal = watched.get(stream);
  if (signal !== undefined) return signal;
  const controller = new AbortController();
  signal = controller.signal;
  watched.set(stream, signal);
  stream.on("error", (err: NodeJS.ErrnoException) => {
    // Only a reader that went away is quiet; anything else is a real failure.
    if (err.code !== "EPIPE" && err.code !== "ERR_STREAM_DESTROYED") throw err;
    controller.abort(err);
  });
  return signal;
}
