/**
 * A server stream as Server-Sent Events: each message an `event: message` with its JSON, then
 * `event: end`, or `event: error` with the problem details. The next message is read from the
 * service only once the HTTP client has taken the previous one (backpressure end to end).
 */
import type { ServerResponse } from "node:http";
import type { Stream } from "tsmicro";
import { type ProblemOptions, problemOf } from "./http-error.js";

export async function sendEvents(
  res: ServerResponse,
  stream: Stream,
  headers: Record<string, string>,
  problem: (err: unknown) => ProblemOptions,
): Promise<boolean> {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-accel-buffering": "no",
    ...headers,
  });
  try {
    for await (const message of stream) {
      if (res.destroyed) return false;
      if (!res.write(`event: message\ndata: ${JSON.stringify(message ?? null)}\n\n`)) await drained(res);
    }
    res.end("event: end\ndata: {}\n\n");
    return true;
  } catch (err) {
    if (!res.destroyed) res.end(`event: error\ndata: ${JSON.stringify(problemOf(err, problem(err)))}\n\n`);
    return false;
  } finally {
    if (res.destroyed) stream.close("the HTTP client went away");
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
