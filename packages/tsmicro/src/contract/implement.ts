/**
 * The server side of a contract: `service.handle(implement(Greeter, { hello, watch }))`.
 * The object literal is checked against the contract (a missing, extra or mistyped handler
 * is a compile error); at run time each request is validated by the endpoint's schema.
 */
import type { Context } from "../context.js";
import { Code, MicroError } from "../errors.js";
import { MOUNT, type Mountable, type MountTargets, type StreamHandlerFn } from "../server/stream-server.js";
import { hopOf } from "../util/hop.js";
import { type Contract, type EndpointSpec, type Endpoints, endpointName } from "./contract.js";
import { validate } from "./validate.js";

type MaybePromise<T> = T | Promise<T>;

/** The handler an endpoint of kind K needs. */
export type HandlerOf<S> =
  S extends EndpointSpec<infer Req, infer Rsp, infer K>
    ? K extends "unary"
      ? (ctx: Context, request: Req) => MaybePromise<Rsp>
      : K extends "server"
        ? (ctx: Context, request: Req) => AsyncIterable<Rsp>
        : K extends "client"
          ? (ctx: Context, requests: AsyncIterable<Req>) => MaybePromise<Rsp>
          : (ctx: Context, requests: AsyncIterable<Req>) => AsyncIterable<Rsp>
    : never;

/** One handler per endpoint of the contract, no more, no fewer. */
export type Implementation<E extends Endpoints> = { [K in keyof E]: HandlerOf<E[K]> };

/** Binds handlers to a contract; `service.handle(implement(contract, handlers))` mounts them. */
export function implement<E extends Endpoints>(
  contract: Contract<E>,
  handlers: Implementation<E>,
): Mountable {
  // An extra function is a misspelt handler; other own fields are an instance's state (a class
  // with its dependencies), which the types allow and which is not refused.
  for (const [key, value] of Object.entries(handlers)) {
    if (typeof value === "function" && !(key in contract.endpoints)) {
      throw new TypeError(`implement(${contract.name}): "${key}" is not an endpoint of the contract`);
    }
  }
  for (const key of Object.keys(contract.endpoints)) {
    if (typeof (handlers as Record<string, unknown>)[key] !== "function") {
      throw new TypeError(`implement(${contract.name}): no handler for endpoint "${key}"`);
    }
  }
  return {
    [MOUNT](targets: MountTargets): string[] {
      const names: string[] = [];
      for (const [key, spec] of Object.entries(contract.endpoints)) {
        const name = endpointName(contract, key);
        const fn = (handlers as Record<string, (...a: any[]) => any>)[key]!.bind(handlers);
        mountOne(targets, contract.name, name, spec, fn);
        names.push(name);
      }
      return names;
    },
  };
}

function mountOne(
  targets: MountTargets,
  contractName: string,
  hop: string,
  spec: EndpointSpec<any, any>,
  fn: (ctx: Context, input: any) => any,
): void {
  // Errors are raised by the service serving the endpoint (MicroError.id); the contract's name
  // stands in only where no server built the context (a handler called directly).
  const idOf = (ctx: Context): string => hopOf(ctx.chain)?.service ?? contractName;
  // Binary wire (protobuf): bytes in and out; plain values when a JSON client calls the same endpoint.
  const decodeRequest = async (ctx: Context, body: unknown): Promise<unknown> => {
    const id = idOf(ctx);
    let value = body;
    const serde = spec.wire?.request;
    if (serde !== undefined && (body instanceof Uint8Array || serde.fromValue !== undefined)) {
      try {
        value = body instanceof Uint8Array ? serde.decode(body) : serde.fromValue!(body);
      } catch (err) {
        const as = body instanceof Uint8Array ? spec.wire!.contentType : "a plain value";
        throw new MicroError({
          id,
          code: Code.BadRequest,
          detail: `cannot decode the request of ${hop} as ${as}: ${(err as Error).message}`,
          chain: ctx.chain,
          retryable: false,
        });
      }
    }
    if (spec.request === undefined) return value;
    return validate(spec.request, value, { id, hop, part: "request", code: Code.BadRequest });
  };
  const encodeResponse = async (ctx: Context, value: unknown, binary: boolean): Promise<unknown> => {
    const checked =
      spec.response === undefined
        ? value
        : await validate(spec.response, value, {
            id: idOf(ctx),
            hop,
            part: "response",
            code: Code.InternalServerError,
          });
    const serde = spec.wire?.response;
    if (serde === undefined) return checked;
    if (binary) return serde.encode(checked);
    return serde.toValue === undefined ? checked : serde.toValue(checked);
  };

  if (spec.kind === "unary") {
    targets.unary(hop, async (ctx, body) =>
      encodeResponse(ctx, await fn(ctx, await decodeRequest(ctx, body)), body instanceof Uint8Array),
    );
    return;
  }
  // Streams: the codec on a binary endpoint is pass-through, so every message is bytes.
  const binary = spec.wire !== undefined;
  const inputs = async function* (ctx: Context, source: AsyncIterable<unknown>) {
    for await (const m of source) yield await decodeRequest(ctx, m);
  };
  const outputs = async function* (ctx: Context, source: AsyncIterable<unknown>) {
    for await (const m of source) yield await encodeResponse(ctx, m, binary);
  };
  let handler: StreamHandlerFn;
  switch (spec.kind) {
    case "server":
      handler = async function* (ctx, request) {
        yield* outputs(ctx, fn(ctx, await decodeRequest(ctx, request)));
      };
      break;
    case "client":
      handler = async (ctx, requests) => encodeResponse(ctx, await fn(ctx, inputs(ctx, requests)), binary);
      break;
    default:
      handler = (ctx, requests) => outputs(ctx, fn(ctx, inputs(ctx, requests)));
  }
  targets.stream(hop, spec.kind, handler);
}
