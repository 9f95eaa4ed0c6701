/**
 * go-micro's `registry.Service` record as JSON, and its mapping to tsmicro's registry rows.
 * go-micro stores one record per node: the service's name, version, metadata and endpoints
 * (request and response described as `Value` trees) with `nodes` holding that node only.
 */
import type { Endpoint, RegistryRow, Service } from "tsmicro/plugin";

/** go-micro's `registry.Value`: a field's name and type, with its fields for structs. */
export interface GoMicroValue {
  name: string;
  type: string;
  values: GoMicroValue[] | null;
}

export interface GoMicroEndpoint {
  name: string;
  request: GoMicroValue | null;
  response: GoMicroValue | null;
  metadata: Record<string, string> | null;
}

export interface GoMicroNode {
  id: string;
  address: string;
  metadata: Record<string, string> | null;
}

/** go-micro's `registry.Service`, as its registries encode it (`encoding/json`). */
export interface GoMicroService {
  name: string;
  version: string;
  metadata: Record<string, string> | null;
  endpoints: GoMicroEndpoint[] | null;
  nodes: GoMicroNode[] | null;
}

export function isGoMicroValue(v: unknown): v is GoMicroValue {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as GoMicroValue).name === "string" &&
    typeof (v as GoMicroValue).type === "string"
  );
}

const strings = (m: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (typeof m === "object" && m !== null) {
    for (const [k, v] of Object.entries(m)) if (typeof v === "string") out[k] = v;
  }
  return out;
};

function endpointOf(e: GoMicroEndpoint): Endpoint {
  const out: Endpoint = { name: e.name, metadata: strings(e.metadata) };
  if (e.request) out.request = e.request;
  if (e.response) out.response = e.response;
  return out;
}

function goMicroEndpointOf(e: Endpoint): GoMicroEndpoint {
  return {
    name: e.name,
    // go-micro reads Value trees only; a tsmicro description of another shape is left out.
    request: isGoMicroValue(e.request) ? e.request : null,
    response: isGoMicroValue(e.response) ? e.response : null,
    metadata: e.metadata ?? {},
  };
}

/** A go-micro record holding one node, for one tsmicro row. */
export function goMicroRecordOf(row: Omit<RegistryRow, "expiresAt">): GoMicroService {
  return {
    name: row.name,
    version: row.version,
    metadata: row.metadata,
    endpoints: row.endpoints.map(goMicroEndpointOf),
    nodes: [{ id: row.node.id, address: row.node.address, metadata: row.node.metadata }],
  };
}

/** go-micro records for every node of a tsmicro service (one per node). */
export function goMicroRecordsOf(service: Service): GoMicroService[] {
  return service.nodes.map((node) => goMicroRecordOf({ ...service, node }));
}

/** The rows of a go-micro record (one per node); [] for JSON that is not a record. */
export function rowsOfGoMicroRecord(json: string | Uint8Array): RegistryRow[] {
  let v: unknown;
  try {
    v = JSON.parse(typeof json === "string" ? json : Buffer.from(json).toString("utf8"));
  } catch {
    return [];
  }
  return rowsOfGoMicroService(v);
}

export function rowsOfGoMicroService(v: unknown): RegistryRow[] {
  if (typeof v !== "object" || v === null) return [];
  const s = v as Partial<GoMicroService>;
  if (typeof s.name !== "string" || !Array.isArray(s.nodes)) return [];
  const endpoints = Array.isArray(s.endpoints)
    ? s.endpoints.filter((e) => typeof e?.name === "string").map(endpointOf)
    : [];
  return s.nodes
    .filter((n): n is GoMicroNode => typeof n?.id === "string" && typeof n.address === "string")
    .map((n) => ({
      name: s.name!,
      version: typeof s.version === "string" ? s.version : "",
      metadata: strings(s.metadata),
      endpoints: endpoints.map((e) => ({ ...e })),
      node: { id: n.id, address: n.address, metadata: strings(n.metadata) },
      expiresAt: 0,
    }));
}
