/** What a registry key holds, and how a KV entry becomes a row with its expiry. */
import type { KV, KvEntry } from "@nats-io/kv";
import { parseRegistryRow, type RegistryRow } from "tsmicro/plugin";

/** What a key holds: the node's row (its expiry aside) and the TTL it was registered with. */
export type StoredNode = Omit<RegistryRow, "expiresAt"> & { ttlMs: number };

/** A KV entry back to a row with its expiry (server time of the write + TTL); undefined if not one. */
export function rowOfEntry(entry: KvEntry): RegistryRow | undefined {
  if (entry.operation !== "PUT") return undefined;
  let stored: StoredNode;
  try {
    stored = entry.json<StoredNode>();
  } catch {
    return undefined;
  }
  const ttlMs = typeof stored?.ttlMs === "number" ? stored.ttlMs : 0;
  return parseRegistryRow(stored, ttlMs > 0 ? entry.created.getTime() + ttlMs : 0);
}

/** Deletes an expired node unless it was written again meanwhile (compare-and-delete). */
export function sweep(kv: KV, key: string, revision: number): void {
  kv.delete(key, { previousSeq: revision }).catch(() => {});
}
