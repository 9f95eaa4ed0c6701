/**
 * A flat table of registered nodes, one row per (service, version, node id), and the diff
 * between two tables as registry events. Shared by the registries that keep or rebuild a
 * snapshot (memory, local).
 */
import type { RegistryEvent, RegistryRow, Service } from "./registry.js";
import { checkExpiry, reportRefusal, validRow } from "./validate.js";

// Defined beside Service (registry.ts) so that validate.ts can name it without a circle.
export type { RegistryRow } from "./registry.js";

export type Table = Map<string, RegistryRow>;

export function rowKey(name: string, version: string, nodeId: string): string {
  return `${name}\u0000${version}\u0000${nodeId}`;
}

export function registryRowsOf(service: Service, expiresAt: number): RegistryRow[] {
  return service.nodes.map((node) => ({
    name: service.name,
    version: service.version,
    metadata: { ...service.metadata },
    endpoints: service.endpoints.map((e) => ({ ...e })),
    node: { ...node, metadata: { ...node.metadata } },
    expiresAt,
  }));
}

/** Whether two rows describe the same registration (expiry aside). */
export function sameRow(a: RegistryRow, b: RegistryRow): boolean {
  return (
    a.node.address === b.node.address &&
    JSON.stringify(a.node.metadata) === JSON.stringify(b.node.metadata) &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata) &&
    JSON.stringify(a.endpoints) === JSON.stringify(b.endpoints)
  );
}

/**
 * The event for a row. A row that fails validation (validate.ts) is reported as the delete of
 * its node: watchers drop any earlier, valid version of it and never see the bad one.
 */
export function registryEventOf(type: RegistryEvent["type"], row: RegistryRow): RegistryEvent {
  if (validRow(row) !== undefined) return { type, service: group([row])[0]! };
  return nodeDeleteEvent(String(row.name), String(row.version), String(row.node?.id));
}

/**
 * The delete of a node known only by service, version and id (a refused record, or a backend
 * that no longer has the record's value): watchers drop the node by id. Its address is empty
 * and nothing is checked or logged, since nobody dials a node that is gone.
 */
export function nodeDeleteEvent(name: string, version: string, nodeId: string): RegistryEvent {
  return {
    type: "delete",
    service: {
      name,
      version,
      metadata: {},
      endpoints: [],
      nodes: [{ id: nodeId, address: "", metadata: {} }],
    },
  };
}

/** Events that turn `before` into `after`: creates and updates first, then deletes. */
export function diff(before: Table, after: Table): RegistryEvent[] {
  const events: RegistryEvent[] = [];
  for (const [key, row] of after) {
    const old = before.get(key);
    if (old === undefined) events.push(registryEventOf("create", row));
    else if (!sameRow(old, row)) events.push(registryEventOf("update", row));
  }
  for (const [key, row] of before) if (!after.has(key)) events.push(registryEventOf("delete", row));
  return events;
}

/**
 * Groups rows into services, one entry per (name, version), nodes in row order. Rows that fail
 * validation (validate.ts) are left out: this is every registry's read path.
 */
export function servicesOfRows(rows: Iterable<RegistryRow>): Service[] {
  const valid: RegistryRow[] = [];
  for (const r of rows) if (validRow(r) !== undefined) valid.push(r);
  return group(valid);
}

function group(rows: Iterable<RegistryRow>): Service[] {
  const byKey = new Map<string, Service>();
  for (const r of rows) {
    const key = `${r.name}\u0000${r.version}`;
    let s = byKey.get(key);
    if (s === undefined) {
      s = {
        name: r.name,
        version: r.version,
        metadata: { ...r.metadata },
        endpoints: r.endpoints.map((e) => ({ ...e })),
        nodes: [],
      };
      byKey.set(key, s);
    }
    s.nodes.push({ ...r.node, metadata: { ...r.node.metadata } });
  }
  return [...byKey.values()];
}

/**
 * A row read back from storage (JSON text, or already parsed), or undefined for a value that
 * is not one: foreign or corrupt values are skipped, never thrown. Missing optional parts get
 * their empty value; `expiresAt`, when given, replaces the stored one. A row that never
 * expires, or expires too far ahead, is refused (logged once) unless `storeExpires` says the
 * store itself removes it (an etcd lease).
 */
export function parseRegistryRow(
  value: string | object,
  expiresAt?: number,
  storeExpires = false,
): RegistryRow | undefined {
  const row = parseStored(value, expiresAt);
  if (row === undefined || storeExpires) return row;
  const reason = checkExpiry(row.expiresAt);
  if (reason === undefined) return row;
  reportRefusal(row, reason);
  return undefined;
}

function parseStored(value: string | object, expiresAt?: number): RegistryRow | undefined {
  try {
    const r = (typeof value === "string" ? JSON.parse(value) : value) as Partial<RegistryRow> | null;
    if (typeof r?.name !== "string" || typeof r.node?.id !== "string") return undefined;
    return {
      name: r.name,
      version: typeof r.version === "string" ? r.version : "",
      metadata: r.metadata ?? {},
      endpoints: Array.isArray(r.endpoints) ? r.endpoints : [],
      node: { id: r.node.id, address: String(r.node.address ?? ""), metadata: r.node.metadata ?? {} },
      expiresAt: expiresAt ?? (typeof r.expiresAt === "number" ? r.expiresAt : 0),
    };
  } catch {
    return undefined;
  }
}

export function isLive(row: RegistryRow, now: number): boolean {
  return row.expiresAt === 0 || row.expiresAt > now;
}
