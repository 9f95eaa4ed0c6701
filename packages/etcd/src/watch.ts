/**
 * One etcd watch per `registry.watch()`, on the prefix (or one service's keys), with the
 * previous value of each key: a put with no previous value is a create, a put that changes
 * the value an update, a put of the same value (a refresh) nothing, and a delete (by
 * deregistration or lease expiry) a delete with the node as it was. etcd delivers events in
 * revision order and resumes from the last revision after a reconnect.
 */
import type { IKeyValue, Namespace } from "etcd3";
import {
  createWatcherSet,
  parseRegistryRow,
  type RegistryEvent,
  type RegistryRow,
  registryEventOf,
  type Watcher,
  type WatchOptions,
} from "tsmicro/plugin";
import { parseNodeKey, serviceKey } from "./keys.js";

export function watchEtcd(ns: Namespace, options: WatchOptions, onStop: () => void): Watcher {
  let cancel: (() => void) | undefined;
  const set = createWatcherSet(() => {
    cancel?.();
    onStop();
  });
  const watcher = set.add(options);
  if (set.size === 0) return watcher; // already aborted
  const etcdWatcher = ns
    .watch()
    .prefix(options.service === undefined ? "" : serviceKey(options.service))
    .withPreviousKV()
    .watcher();
  cancel = () => void etcdWatcher.cancel().catch(() => {});
  const emit = (e: RegistryEvent | undefined) => {
    if (e !== undefined) set.emit([e]);
  };
  etcdWatcher.on("put", (kv, prev) => emit(putEvent(kv, prev)));
  etcdWatcher.on("delete", (kv, prev) => emit(deleteEvent(kv, prev)));
  // etcd3 reconnects the stream itself and resumes from the last revision it saw.
  etcdWatcher.on("error", () => {});
  return watcher;
}

// etcd3 passes `null` for "no previous value".
function putEvent(kv: IKeyValue, prev: IKeyValue | null | undefined): RegistryEvent | undefined {
  const row = parseRegistryRow(kv.value.toString(), 0, kv.lease !== "0");
  if (row === undefined) return undefined;
  const before = prev ? parseRegistryRow(prev.value.toString(), 0, true) : undefined;
  if (before === undefined) return registryEventOf("create", row);
  if (prev!.value.equals(kv.value)) return undefined;
  return registryEventOf("update", row);
}

function deleteEvent(kv: IKeyValue, prev: IKeyValue | null | undefined): RegistryEvent | undefined {
  const row = prev ? parseRegistryRow(prev.value.toString(), 0, true) : undefined;
  if (row !== undefined) return registryEventOf("delete", row);
  // No previous value (compacted away): the key still names the node.
  const parts = parseNodeKey(kv.key.toString());
  if (parts === undefined) return undefined;
  const bare: RegistryRow = {
    name: parts.name,
    version: parts.version,
    metadata: {},
    endpoints: [],
    node: { id: parts.nodeId, address: "", metadata: {} },
    expiresAt: 0,
  };
  return registryEventOf("delete", bare);
}
