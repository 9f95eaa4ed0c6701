/** Reads a JSON request body, bounded in size. */
import type { IncomingMessage } from "node:http";
import { badRequest, MicroError, payloadTooLarge } from "tsmicro";

/** `bodyOptional`: a request with no body at all (REST `DELETE /orders/7`) is `{}` whatever its type. */
export async function readJsonBody(
  req: IncomingMessage,
  maxBytes: number,
  what: string,
  bodyOptional = false,
): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const none =
    req.headers["transfer-encoding"] === undefined && Number(req.headers["content-length"] ?? 0) === 0;
  if (bodyOptional && none) return {};
  // Requiring JSON also keeps browsers from posting here cross-site without a CORS preflight.
  if (type !== "application/json") {
    throw new MicroError({
      id: "gateway",
      code: 415,
      detail: `${what}: the body must be sent as content-type application/json, got "${type || "none"}"`,
    });
  }
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) {
    throw payloadTooLarge("gateway", `${what}: the body is ${declared} bytes, over the limit of ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      throw payloadTooLarge("gateway", `${what}: the body is over the limit of ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest("gateway", `${what}: the body is not valid JSON: ${(err as Error).message}`);
  }
}
