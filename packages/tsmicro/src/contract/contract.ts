/**
 * Contracts: a service's endpoints defined once, as a typed object, shared by the server
 * (`implement`) and the client (`client.service`), so that a wrong endpoint name or shape is a
 * compile error on both sides. Types come from the generics or from Standard Schema runtime
 * schemas (zod, valibot, arktype...), which also validate requests on the server.
 *
 *   const Greeter = defineContract("Greeter", {
 *     hello: unary<{ name: string }, { greeting: string }>(),
 *     watch: serverStream({ request: z.object({ topic: z.string() }), response: Event }),
 *   });
 */
import type { StandardSchemaV1 } from "./standard-schema.js";

/** unary: one in, one out; server: one in, many out; client: many in, one out; bidi: many both ways. */
export type EndpointKind = "unary" | "server" | "client" | "bidi";

/** Turns messages into bytes and back, for binary wire formats such as Protocol Buffers. */
export interface Serde<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
  /** A message from a plain value, when a text-codec client (JSON) calls the endpoint (protobuf: `fromJson`). */
  fromValue?(value: unknown): T;
  /** A plain value for a text-codec client (protobuf: `toJson`). */
  toValue?(value: T): unknown;
}

/** How an endpoint's messages travel when they are not left to the client's codec. */
export interface WireFormat<Req, Rsp> {
  /** Content type sent with the bytes; the server needs a pass-through codec for it. */
  readonly contentType: string;
  readonly request: Serde<Req>;
  readonly response: Serde<Rsp>;
}

export interface EndpointSpec<Req = unknown, Rsp = unknown, K extends EndpointKind = EndpointKind> {
  readonly kind: K;
  /** Validates each request on the server (400 naming the field path on failure). */
  readonly request?: StandardSchemaV1<unknown, Req> | undefined;
  /** Validates each response on the server before it is sent (500 on failure: a handler bug). */
  readonly response?: StandardSchemaV1<unknown, Rsp> | undefined;
  /** Wire name after the contract's name, when it differs from the key (e.g. gRPC's `SayHello`). */
  readonly name?: string | undefined;
  readonly wire?: WireFormat<Req, Rsp> | undefined;
  /** Responses may be cached this long by a client with `cacheWrapper` (unary only). */
  readonly cache?: { readonly ttlMs: number } | undefined;
  /** Carries the types only; never set. */
  readonly "~types"?: { readonly request: Req; readonly response: Rsp } | undefined;
}

export interface EndpointOptions<Req, Rsp> {
  request?: StandardSchemaV1<unknown, Req>;
  response?: StandardSchemaV1<unknown, Rsp>;
  name?: string;
  wire?: WireFormat<Req, Rsp>;
  /** Mark the endpoint cacheable: clients with `cacheWrapper` keep responses `ttlMs`. @default not cacheable */
  cache?: { ttlMs: number };
}

function spec<K extends EndpointKind>(kind: K) {
  return <Req, Rsp>(options: EndpointOptions<Req, Rsp> = {}): EndpointSpec<Req, Rsp, K> =>
    Object.freeze({ kind, ...options });
}

/** One request, one response. */
export const unary = spec("unary");
/** One request, a stream of responses. */
export const serverStream = spec("server");
/** A stream of requests, one response. */
export const clientStream = spec("client");
/** Streams both ways. */
export const bidiStream = spec("bidi");

export type Endpoints = Record<string, EndpointSpec<any, any, EndpointKind>>;

/** A service's endpoints with their kinds and schemas, shared by client and server. */
export interface Contract<E extends Endpoints = Endpoints> {
  /** Prefix of the endpoints on the wire: `Greeter` → `Greeter.hello`. */
  readonly name: string;
  readonly endpoints: E;
}

/** Declares a contract: `defineContract("greeter", { hello: unary({ request, response }) })`. */
export function defineContract<const E extends Endpoints>(name: string, endpoints: E): Contract<E> {
  if (name.length === 0) throw new TypeError("defineContract: a name is required");
  return Object.freeze({ name, endpoints: Object.freeze(endpoints) });
}

/** The wire name of endpoint `key` of `contract`. */
export function endpointName(contract: Contract, key: string): string {
  return `${contract.name}.${contract.endpoints[key]?.name ?? key}`;
}

export type RequestOf<S> = S extends EndpointSpec<infer Req, any, any> ? Req : never;
export type ResponseOf<S> = S extends EndpointSpec<any, infer Rsp, any> ? Rsp : never;
