/**
 * How nodes are laid out in etcd: their keys (under the prefix) and the value stored for
 * each. The default is tsmicro's own; other layouts let the registry share etcd with another
 * framework's nodes (for example go-micro's, in @tsmicro/gomicro).
 */
import { parseRegistryRow, type RegistryRow } from "tsmicro/plugin";
import { nodeKey, parseNodeKey, serviceKey } from "./keys.js";

export interface EtcdLayout {
  /** The key of one node, relative to the prefix. */
  nodeKey(name: string, version: string, nodeId: string): string;
  /** The key prefix (relative to the prefix) under which every node of `name` lives. */
  serviceKey(name: string): string;
  /** The value stored for one node. */
  encode(row: RegistryRow): string;
  /**
   * The node a stored value describes; undefined for a value this layout does not read (or
   * refuses: a key without a lease, `leased` false, never expires).
   */
  decode(value: string, key: string, leased: boolean): RegistryRow | undefined;
  /** The node a key names, for a delete whose previous value is gone; undefined if unknown. */
  parseKey(key: string): { name: string; version: string; nodeId: string } | undefined;
}

/** tsmicro's layout: `<service>/<version>/<node id>`, each part URI-encoded; the value the node's JSON row. */
export const tsmicroEtcdLayout: EtcdLayout = {
  nodeKey,
  serviceKey,
  encode: ({ expiresAt: _, ...row }) => JSON.stringify(row),
  decode: (value, _key, leased) => parseRegistryRow(value, 0, leased),
  parseKey: parseNodeKey,
};
