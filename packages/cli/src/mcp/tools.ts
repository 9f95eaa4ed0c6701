/**
 * Registered services' endpoints as MCP tools: which ones (an allow-list), their input schemas
 * (the contract's Standard Schema as JSON Schema when a contract is given, else the registry's
 * description of the request) and their descriptions (the contract's docs, else a generated line).
 */
import { jsonSchemaOf } from "@tsmicro/gateway";
import type { Contract, Registry } from "tsmicro";

/** `greeter` allows every endpoint of greeter; `greeter.Greeter.Hello` one endpoint. */
export type AllowList = readonly string[] | "all";

export interface ContractSource {
  /** The registered service name. */
  service: string;
  contract: Contract;
  /** Per contract key, the text shown to the model. @default "Calls <service> <endpoint>." */
  docs?: Record<string, string>;
}

export interface Tool {
  /** `greeter_Greeter_Hello` (MCP tool names: letters, digits, _ and -). */
  name: string;
  service: string;
  endpoint: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export function allowed(allow: AllowList, service: string, endpoint: string): boolean {
  if (allow === "all") return true;
  return allow.includes(service) || allow.includes(`${service}.${endpoint}`);
}

export function toolName(service: string, endpoint: string): string {
  return `${service}_${endpoint}`.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

/** A registry request description (`{"name":"string"}`) as JSON Schema (an object: MCP inputs are objects). */
function shapeSchema(shape: unknown): Record<string, unknown> {
  const conv = (s: unknown): Record<string, unknown> => {
    if (s === "string" || s === "number" || s === "boolean" || s === "integer") return { type: s };
    if (Array.isArray(s)) return { type: "array", ...(s.length > 0 ? { items: conv(s[0]) } : {}) };
    if (s !== null && typeof s === "object") {
      return {
        type: "object",
        properties: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, conv(v)])),
      };
    }
    return {};
  };
  const schema = conv(shape);
  return schema.type === "object" ? schema : { type: "object" };
}

export async function listTools(
  registry: Registry,
  allow: AllowList,
  contracts: readonly ContractSource[],
): Promise<Tool[]> {
  const tools = new Map<string, Tool>();
  for (const s of await registry.listServices()) {
    if (s.name.startsWith("tsmicro.")) continue; // broker subscription entries
    for (const e of s.endpoints) {
      // Streams have no single answer to give back as a tool result.
      if (e.metadata?.stream !== undefined && e.metadata.stream !== "unary") continue;
      if (!allowed(allow, s.name, e.name)) continue;
      const name = toolName(s.name, e.name);
      tools.set(name, {
        name,
        service: s.name,
        endpoint: e.name,
        description: `Calls ${e.name} on the ${s.name} service.`,
        inputSchema: shapeSchema(e.request),
      });
    }
  }
  for (const c of contracts) {
    for (const [key, spec] of Object.entries(c.contract.endpoints)) {
      if (spec.kind !== "unary") continue;
      const endpoint = `${c.contract.name}.${spec.name ?? key}`;
      if (!allowed(allow, c.service, endpoint)) continue;
      const name = toolName(c.service, endpoint);
      const schema = jsonSchemaOf(spec.request, "input");
      tools.set(name, {
        name,
        service: c.service,
        endpoint,
        description: c.docs?.[key] ?? `Calls ${endpoint} on the ${c.service} service.`,
        inputSchema: schema?.type === "object" ? schema : { type: "object" },
      });
    }
  }
  return [...tools.values()].sort((a, b) => a.name.localeCompare(b.name));
}
