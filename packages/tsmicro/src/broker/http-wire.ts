/**
 * The HTTP broker's request body: a 4-byte big-endian length, that many bytes of JSON
 * `{ "t": topic, "h": headers }`, then the message body as is (binary-safe, no base64).
 */
import { badRequest } from "../errors.js";
import type { Message } from "./broker.js";

export const HTTP_BROKER_CONTENT_TYPE = "application/x-tsmicro-message";

export function encodeHttpMessage(topic: string, message: Message): Buffer {
  const head = Buffer.from(JSON.stringify({ t: topic, h: message.headers }), "utf8");
  const out = Buffer.allocUnsafe(4 + head.length + message.body.length);
  out.writeUInt32BE(head.length, 0);
  head.copy(out, 4);
  out.set(message.body, 4 + head.length);
  return out;
}

export function decodeHttpMessage(raw: Buffer): { topic: string; message: Message } {
  if (raw.length < 4)
    throw badRequest("tsmicro", "http broker: message shorter than its 4-byte header length");
  const n = raw.readUInt32BE(0);
  if (4 + n > raw.length) {
    throw badRequest(
      "tsmicro",
      `http broker: header length ${n} runs past the end of the ${raw.length}-byte message`,
    );
  }
  let head: unknown;
  try {
    head = JSON.parse(raw.subarray(4, 4 + n).toString("utf8"));
  } catch {
    throw badRequest("tsmicro", "http broker: message header is not valid JSON");
  }
  const h = head as { t?: unknown; h?: unknown };
  if (typeof h?.t !== "string" || typeof h.h !== "object" || h.h === null || Array.isArray(h.h)) {
    throw badRequest("tsmicro", "http broker: message header needs a topic (t) and a headers object (h)");
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(h.h as Record<string, unknown>)) {
    if (typeof v !== "string") throw badRequest("tsmicro", `http broker: header "${k}" is not a string`);
    headers[k] = v;
  }
  return { topic: h.t, message: { headers, body: raw.subarray(4 + n) } };
}
