/**
 * go-micro's etcd registry layout (the go-micro etcd plugin, v4): one key per node,
 * `/micro/registry/<service>/<node id>` with `/` in either part replaced by `-`, the value
 * the JSON record of the service holding that node, under a lease of the node's TTL
 * (refreshed by keep-alive). go-micro's registry cache watches the prefix and drops a node
 * when its key is deleted or its lease runs out, so both sides see each other come and go.
 */
import { createEtcdRegistry, type EtcdLayout, type EtcdRegistryOptions } from "@tsmicro/etcd";
import type { Registry } from "tsmicro";
import { goMicroRecordOf, rowsOfGoMicroRecord } from "./record.js";

const part = (s: string) => s.replaceAll("/", "-");

export const goMicroEtcdLayout: EtcdLayout = {
  nodeKey: (name, _version, nodeId) => `${part(name)}/${part(nodeId)}`,
  serviceKey: (name) => `${part(name)}/`,
  encode: (row) => JSON.stringify(goMicroRecordOf(row)),
  // A go-micro record holds one node; anything else under the prefix (tsmicro's own layout) is
  // skipped, and so is a key without a lease: as tsmicro's own records, it would never expire
  // (go-micro registers with a lease unless its RegisterTTL is 0).
  decode: (value, _key, leased) => (leased ? rowsOfGoMicroRecord(value)[0] : undefined),
  parseKey: (key) => {
    const [name, nodeId, ...rest] = key.split("/");
    return name && nodeId && rest.length === 0 ? { name, version: "", nodeId } : undefined;
  },
};

export type GoMicroEtcdRegistryOptions = Omit<EtcdRegistryOptions, "layout">;

/** The default prefix of go-micro's etcd registry. */
export const GO_MICRO_ETCD_PREFIX = "/micro/registry/";

/**
 * A registry that reads and writes go-micro's etcd records: tsmicro services registered here
 * are found by go-micro clients (`etcd.NewRegistry(registry.Addrs(...))`) and go-micro
 * services by tsmicro clients. Options are @tsmicro/etcd's (endpoints default
 * 127.0.0.1:2379, prefix default "/micro/registry/", as in go-micro).
 */
export function createGoMicroEtcdRegistry(options: GoMicroEtcdRegistryOptions = {}): Registry {
  return createEtcdRegistry({ prefix: GO_MICRO_ETCD_PREFIX, ...options, layout: goMicroEtcdLayout });
}
