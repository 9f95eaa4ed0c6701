/**
 * go-micro's RPC envelopes. A go-micro client sends `application/json` as JSON-RPC
 * (`{"method","params":[body],"id"}`, answered with `{"id","result","error"}`) to nodes that
 * do not announce a `protocol` in their metadata; tsmicro servers unwrap it to plain JSON
 * and wrap the answer back, so handlers only ever see the body.
 */
import { MicroError } from "tsmicro";

export const JSON_RPC = "application/json-rpc";

export interface Unwrapped {
  contentType: string;
  body: Uint8Array;
  /** Wraps the handler's answer for the caller. */
  wrap(body: Uint8Array | undefined, error?: string): Uint8Array;
}

export function unwrapRequest(contentType: string, body: Uint8Array): Unwrapped | undefined {
  if (contentType !== JSON_RPC) return undefined;
  let req: { id?: unknown; params?: unknown };
  try {
    req = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch (err) {
    throw new MicroError({
      id: "go.micro.server",
      code: 400,
      detail: `JSON-RPC request does not parse: ${(err as Error).message}`,
    });
  }
  const params = Array.isArray(req.params) ? req.params[0] : req.params;
  const id = req.id ?? null;
  return {
    contentType: "application/json",
    body: params === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(params)),
    wrap: (result, error) =>
      Buffer.from(
        `{"id":${JSON.stringify(String(id))},"result":${result && result.length > 0 ? Buffer.from(result).toString("utf8") : "null"},"error":${error === undefined ? "null" : JSON.stringify(error)}}\n`,
      ),
  };
}
