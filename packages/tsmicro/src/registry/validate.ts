/**
 * The registry is a trust root: a client dials whatever address a record names and sends its
 * metadata (an `authorization` token among it) there. Every record read from a registry —
 * memory, local, etcd, NATS, on `getService`, `listServices` and `watch` — passes through
 * here (table.ts applies it where rows become services and events): an address must be a plain
 * `host:port`, metadata and endpoints are bounded, and a record read from storage must expire
 * within a bounded time. A refused record is skipped and logged once per node.
 */
import type { RegistryRow as Row } from "./table.js";

/** Bounds on one registry record. */
export const DEFAULT_RECORD_LIMITS = {
  /** Longest TTL a stored record may carry (a record with no expiry is refused). 1 hour. */
  maxTtlMs: 60 * 60 * 1000,
  /** Metadata entries per node, and per service. */
  maxMetadataEntries: 64,
  /** Bytes of metadata keys and values per node, and per service. 16 KiB. */
  maxMetadataBytes: 16 * 1024,
  /** Endpoints per service. */
  maxEndpoints: 1024,
  /** Characters of a service name, version or node id. */
  maxNameLength: 256,
} as const;

// A DNS name (labels of letters, digits, hyphens, underscores), an IPv4 address, or a bracketed
// IPv6 literal; then a port 1-65535. Nothing else: no scheme, user, path, query or fragment.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?)$/;

/** Why `address` is not a plain `host:port`, or undefined when it is one. */
export function checkAddress(address: unknown): string | undefined {
  if (typeof address !== "string") return "address is not a string";
  const i = address.lastIndexOf(":");
  if (i <= 0) return `address "${clip(address)}" is not host:port`;
  const host = address.slice(0, i);
  const port = address.slice(i + 1);
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    return `address "${clip(address)}" has no port 1-65535`;
  if (!HOST.test(host) || host.includes(".."))
    return `address "${clip(address)}" is not host:port (a name, IPv4 or [IPv6] address)`;
  return undefined;
}

function checkMetadata(m: unknown, what: string): string | undefined {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return `${what} metadata is not an object`;
  let n = 0;
  let bytes = 0;
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== "string") return `${what} metadata "${clip(k)}" is not a string`;
    if (++n > DEFAULT_RECORD_LIMITS.maxMetadataEntries)
      return `${what} metadata has more than ${DEFAULT_RECORD_LIMITS.maxMetadataEntries} entries`;
    bytes += k.length + v.length;
    if (bytes > DEFAULT_RECORD_LIMITS.maxMetadataBytes)
      return `${what} metadata is over ${DEFAULT_RECORD_LIMITS.maxMetadataBytes} bytes`;
  }
  return undefined;
}

function checkName(v: unknown, what: string, allowEmpty: boolean): string | undefined {
  if (typeof v !== "string") return `${what} is not a string`;
  if (!allowEmpty && v.length === 0) return `${what} is empty`;
  if (v.length > DEFAULT_RECORD_LIMITS.maxNameLength)
    return `${what} is over ${DEFAULT_RECORD_LIMITS.maxNameLength} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(v)) return `${what} holds a control character`;
  return undefined;
}

/** Why a row is not a record a client may use, or undefined when it is one. */
export function checkRow(row: Row): string | undefined {
  return (
    checkName(row.name, "service name", false) ??
    checkName(row.version, "version", true) ??
    checkName(row.node?.id, "node id", false) ??
    checkAddress(row.node.address) ??
    checkMetadata(row.node.metadata, "node") ??
    checkMetadata(row.metadata, "service") ??
    (Array.isArray(row.endpoints) && row.endpoints.length <= DEFAULT_RECORD_LIMITS.maxEndpoints
      ? undefined
      : `endpoints are not a list of at most ${DEFAULT_RECORD_LIMITS.maxEndpoints}`)
  );
}

/**
 * Why a stored row's expiry is refused, or undefined: a record read from storage must expire
 * (0 is "never", which would outlive a crashed or hostile writer) within `maxTtlMs`.
 */
export function checkExpiry(expiresAt: number, now = Date.now()): string | undefined {
  if (!Number.isFinite(expiresAt) || expiresAt <= 0) return "it never expires (no TTL)";
  if (expiresAt - now > DEFAULT_RECORD_LIMITS.maxTtlMs)
    return `it expires more than ${DEFAULT_RECORD_LIMITS.maxTtlMs} ms from now`;
  return undefined;
}

/** Where refusals are logged (replaceable for tests and for a service's own logger). */
export const registryRefusals = {
  log: (message: string) => console.warn(message),
};

const logged = new Set<string>();
const MAX_LOGGED = 4096;

/** Logs a refused record once per (node, reason), with a bounded memory of what was said. */
export function reportRefusal(row: Partial<Row>, reason: string): void {
  const id = typeof row.node?.id === "string" ? clip(row.node.id) : "?";
  const name = typeof row.name === "string" ? clip(row.name) : "?";
  const key = `${name}\u0000${id}\u0000${reason}`;
  if (logged.has(key)) return;
  if (logged.size >= MAX_LOGGED) logged.clear();
  logged.add(key);
  registryRefusals.log(`tsmicro: registry record of ${name} node ${id} refused: ${reason}`);
}

/** The row if it may be used, else undefined (and the refusal logged once). */
export function validRow(row: Row): Row | undefined {
  const reason = checkRow(row);
  if (reason === undefined) return row;
  reportRefusal(row, reason);
  return undefined;
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
