/**
 * A broker message as one binary frame (the http broker's request body; NATS and Redis
 * payloads use it too, to carry headers on servers that have none): a 4-byte big-endian length, that many bytes of JSON
 * `{ "t": topic, "h": headers }`, then the message body as is (binary-safe, no base64).
 */
import { badRequest } from "../errors.js";
import type { BrokerMessage } from "./broker.js";

export const MESSAGE_FRAME_CONTENT_TYPE = "application/x-tsmicro-message";

export function encodeMessageFrame(topic: string, message: BrokerMessage): Buffer {
  const head = JSON.stringify({ t: topic, h: message.headers });
  // One allocation: the header written in place, then the body.
  const headLength = Buffer.byteLength(head, "utf8");
  const out = Buffer.allocUnsafe(4 + headLength + message.body.length);
  out.writeUInt32BE(headLength, 0);
  out.write(head, 4, "utf8");
  out.set(message.body, 4 + headLength);
  return out;
}

export function decodeMessageFrame(raw: Buffer): { topic: string; message: BrokerMessage } {
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
    head = JSON.parse(raw.toString("utf8", 4, 4 + n));
  } catch {
    throw badRequest("tsmicro", "http broker: message header is not valid JSON");
  }
  const h = head as { t?: unknown; h?: unknown };
  if (typeof h?.t !== "string" || typeof h.h !== "object" || h.h === null || Array.isArray(h.h)) {
    throw badRequest("tsmicro", "http broker: message header needs a topic (t) and a headers object (h)");
  }
  const headers = h.h as Record<string, unknown>;
  for (const k in headers) {
    if (typeof headers[k] !== "string")
      throw badRequest("tsmicro", `http broker: header "${k}" is not a string`);
  }
  return { topic: h.t, message: { headers: headers as Record<string, string>, body: raw.subarray(4 + n) } };
}
