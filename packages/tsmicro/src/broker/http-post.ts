/**
 * The publishing half's one request: POST a message to one subscriber endpoint. Shared by the
 * core's http broker and go-micro's, which differ in the path and the body's format only.
 */
import http from "node:http";
import type { Socket } from "node:net";
import { MicroError } from "../errors.js";

export interface SubscriberPost {
  host: string;
  port: number;
  path: string;
  contentType: string;
  agent: http.Agent;
  signal: AbortSignal;
  /** Told each socket a request gets (a new one still connecting, or a kept-alive one). */
  onSocket?: (socket: Socket) => void;
}

/**
 * "ok" once the subscriber took the message (2xx), "gone" when it refused the connection or
 * has no such subscription (404); any other answer rejects with the MicroError its body holds.
 */
export function postToSubscriber(p: SubscriberPost, body: Buffer, again = true): Promise<"ok" | "gone"> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: p.host,
        port: p.port,
        method: "POST",
        path: p.path,
        agent: p.agent,
        signal: p.signal,
        headers: { "content-type": p.contentType, "content-length": body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve("ok");
          else if (status === 404) resolve("gone");
          else reject(MicroError.parse(Buffer.concat(chunks).toString("utf8") || `{"code":${status}}`));
        });
      },
    );
    if (p.onSocket !== undefined) req.once("socket", p.onSocket);
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED") resolve("gone");
      // A kept-alive socket the subscriber closed as we reused it: nothing was read, send again.
      else if (err.code === "ECONNRESET" && req.reusedSocket && again)
        postToSubscriber(p, body, false).then(resolve, reject);
      else reject(err);
    });
    req.end(body);
  });
}
