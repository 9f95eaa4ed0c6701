/**
 * The OpenAPI 3.1 document of what the gateway serves, built from the contracts it was given
 * (Standard Schema → JSON Schema through the Standard JSON Schema interface, which zod 4,
 * valibot and arktype implement) and from the registry's endpoint descriptions. JSON Schema
 * 2020-12 is OpenAPI 3.1's own dialect, so schemas go in unchanged.
 */
import type { Contract } from "tsmicro";
import type { EndpointSpec, Service } from "tsmicro/plugin";
import { API_PREFIX } from "./api.js";
import type { RestRoute } from "./rest.js";

/** A service's contract, given to the gateway for its documentation and REST routes. */
export interface ServiceApi {
  /** The registered service name, e.g. `"orders"`. */
  service: string;
  contract: Contract;
  /** REST routes by contract key: `{ get: "GET /orders/{id}" }`. @default {} */
  http?: Record<string, string>;
  /** Shown in the document. */
  description?: string;
}

export interface OpenApiInfo {
  /** @default "tsmicro gateway" */
  title?: string;
  /** The API's version. @default "0.0.0" */
  version?: string;
}

type Schema = Record<string, unknown>;

interface Operation {
  service: string;
  endpoint: string;
  kind: string;
  request: Schema;
  response: Schema;
  description?: string | undefined;
}

const PROBLEM: Schema = {
  type: "object",
  description: "RFC 9457 problem details with the MicroError's fields",
  required: ["type", "title", "status", "detail", "id", "code"],
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    instance: { type: "string" },
    id: { type: "string" },
    code: { type: "integer" },
    retryable: { type: "boolean" },
    chain: { type: "array", items: { type: "string" } },
  },
};

/** JSON Schema of a Standard Schema, when its library publishes one; undefined otherwise. */
export function jsonSchemaOf(schema: unknown, io: "input" | "output"): Schema | undefined {
  const std = (schema as { "~standard"?: { jsonSchema?: Record<string, unknown> } } | undefined)?.[
    "~standard"
  ];
  const convert = std?.jsonSchema?.[io];
  if (typeof convert !== "function") return undefined;
  try {
    const { $schema: _, ...rest } = convert({ target: "draft-2020-12" }) as Schema;
    return rest;
  } catch {
    return undefined;
  }
}

/** A registry shape description (`{"name":"string"}`) as JSON Schema; `{}` (any JSON) when there is none. */
export function shapeToSchema(shape: unknown): Schema {
  if (shape === "string" || shape === "number" || shape === "boolean" || shape === "integer")
    return { type: shape };
  if (Array.isArray(shape))
    return { type: "array", ...(shape.length > 0 ? { items: shapeToSchema(shape[0]) } : {}) };
  if (shape !== null && typeof shape === "object") {
    return {
      type: "object",
      properties: Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, shapeToSchema(v)])),
    };
  }
  return {};
}

export function contractOperations(api: ServiceApi): Operation[] {
  return Object.entries(api.contract.endpoints).map(([key, spec]: [string, EndpointSpec]) => ({
    service: api.service,
    endpoint: `${api.contract.name}.${spec.name ?? key}`,
    kind: spec.kind,
    request: jsonSchemaOf(spec.request, "input") ?? {},
    response: jsonSchemaOf(spec.response, "output") ?? {},
  }));
}

export function registryOperations(services: Service[]): Operation[] {
  const out = new Map<string, Operation>();
  for (const s of services) {
    for (const e of s.endpoints) {
      out.set(`${s.name}\u0000${e.name}`, {
        service: s.name,
        endpoint: e.name,
        kind: e.metadata?.stream ?? "unary",
        request: shapeToSchema(e.request),
        response: shapeToSchema(e.response),
      });
    }
  }
  return [...out.values()];
}

export function buildOpenApi(
  info: OpenApiInfo,
  operations: Operation[],
  routes: readonly RestRoute[],
): Schema {
  const paths: Record<string, Record<string, unknown>> = {};
  const byName = new Map(operations.map((o) => [`${o.service}\u0000${o.endpoint}`, o]));
  for (const op of [...operations].sort((a, b) =>
    `${a.service}.${a.endpoint}`.localeCompare(`${b.service}.${b.endpoint}`),
  )) {
    if (op.kind === "client" || op.kind === "bidi") continue;
    const path = `${API_PREFIX}${encodeURIComponent(op.service)}/${encodeURIComponent(op.endpoint)}`;
    paths[path] = { post: operation(op, `${op.service}.${op.endpoint}`, [], true) };
  }
  for (const r of routes) {
    const op = byName.get(`${r.service}\u0000${r.endpoint}`);
    if (op === undefined || op.kind === "client" || op.kind === "bidi") continue;
    const names = [...r.path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!);
    const params = names.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } }));
    const hasBody = !["GET", "HEAD", "DELETE"].includes(r.method);
    paths[r.path] = {
      ...(paths[r.path] ?? {}),
      [r.method.toLowerCase()]: operation(op, `${r.method} ${r.path}`, params, hasBody),
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title ?? "tsmicro gateway", version: info.version ?? "0.0.0" },
    paths,
    components: { schemas: { Problem: PROBLEM } },
  };
}

function operation(op: Operation, operationId: string, parameters: unknown[], body: boolean): Schema {
  const ok =
    op.kind === "server"
      ? {
          description:
            "Server-Sent Events: `message` per response (its JSON), then `end`, or `error` with a Problem",
          content: { "text/event-stream": { schema: { type: "string" }, "x-message-schema": op.response } },
        }
      : { description: "The endpoint's answer", content: { "application/json": { schema: op.response } } };
  return {
    operationId,
    summary: `${op.service} ${op.endpoint}${op.kind === "server" ? " (server stream)" : ""}`,
    tags: [op.service],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body
      ? { requestBody: { required: false, content: { "application/json": { schema: op.request } } } }
      : {}),
    responses: {
      "200": ok,
      default: {
        description: "A MicroError",
        content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
      },
    },
  };
}
