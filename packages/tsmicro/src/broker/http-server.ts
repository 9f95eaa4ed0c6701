/**
 * The subscriber side of the HTTP broker: `POST /broker/<subscription id>` takes one message.
 * 202 once it is queued for the subscription's handler (the answer waits while the queue is
 * full: backpressure), 404 for a subscription that no longer exists (the publisher skips
 * it), 400/413 with a MicroError body for a message it cannot take.
 */
import http from "node:http";
import { badRequest, MicroError, payloadTooLarge } from "../errors.js";
import { requestPath } from "../transport/http-guard.js";
import { decodeMessageFrame } from "./message-frame.js";
import type { SerialSubscription } from "./serial.js";

export interface SubscriptionServerOptions {
  lookup(id: string): SerialSubscription | undefined;
  maxMessageBytes: number;
  maxPending: number;
}

const PATH = "/broker/";

export function serveSubscriptions(options: SubscriptionServerOptions): http.Server {
  const server = http.createServer((req, res) => {
    const fail = (err: MicroError) => {
      if (res.headersSent) return;
      res.writeHead(err.code, { "content-type": "application/json" }).end(JSON.stringify(err));
    };
    // A target that does not decode (`/broker/%`) is a 400: never a throw here.
    const path = requestPath(req.url);
    if (path === undefined) {
      req.resume();
      fail(badRequest("tsmicro", `http broker: the request target is not a valid path`));
      return;
    }
    const id = path.startsWith(PATH) ? path.slice(PATH.length) : "";
    const sub = id === "" ? undefined : options.lookup(id);
    if (req.method !== "POST" || sub === undefined) {
      req.resume();
      fail(
        new MicroError({
          id: "tsmicro",
          code: 404,
          detail: `http broker: no subscription at ${req.method} ${req.url}`,
        }),
      );
      return;
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > options.maxMessageBytes) {
      req.resume();
      fail(tooLarge(declared, options.maxMessageBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > options.maxMessageBytes) {
        fail(tooLarge(size, options.maxMessageBytes));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (res.headersSent) return;
      let decoded: ReturnType<typeof decodeMessageFrame>;
      try {
        decoded = decodeMessageFrame(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      } catch (err) {
        fail(MicroError.from(err, "tsmicro", 400));
        return;
      }
      if (decoded.topic !== sub.topic) {
        fail(
          badRequest(
            "tsmicro",
            `http broker: message for "${decoded.topic}" sent to a subscription to "${sub.topic}"`,
          ),
        );
        return;
      }
      void sub.below(options.maxPending).then(() => {
        if (sub.push(decoded.message)) res.writeHead(202).end();
        else
          fail(
            new MicroError({ id: "tsmicro", code: 404, detail: "http broker: the subscription was closed" }),
          );
      });
    });
    req.on("error", () => {});
  });
  // Longer than a publisher keeps an idle socket, so a reused socket is rarely closed under it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

function tooLarge(size: number, max: number): MicroError {
  return payloadTooLarge(
    "tsmicro",
    `http broker: message of ${size} bytes exceeds the subscriber's limit of ${max}`,
  );
}
