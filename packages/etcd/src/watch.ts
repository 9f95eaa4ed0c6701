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
  nodeDeleteEvent,
  type RegistryEvent,
  registryEventOf,
  type Watcher,
  type WatchOptions,
} from "tsmicro/plugin";
import type { EtcdLayout } from "./layout.js";

export function watchEtcd(
  ns: Namespace,
  layout: EtcdLayout,
  options: WatchOptions,
  onStop: () => void,
): Watcher {
  let cancel: (() => void) | undefined;
  const set = createWatcherSet(() => {
    cancel?.();
    onStop();
  });
  const watcher = set.add(options);
  if (set.size === 0) return watcher; // already aborted
  const etcdWatcher = ns
    .watch()
    .prefix(options.service === undefined ? "" : layout.serviceKey(options.service))
    .withPreviousKV()
    .watcher();
  cancel = () => void etcdWatcher.cancel().catch(() => {});
  const emit = (e: RegistryEvent | undefined) => {
    if (e !== undefined) set.emit([e]);
  };
  etcdWatcher.on("put", (kv, prev) => emit(putEvent(layout, kv, prev)));
  etcdWatcher.on("delete", (kv, prev) => emit(deleteEvent(layout, kv, prev)));
  // etcd3 reconnects the stream itself and resumes from the last revision it saw.
  etcdWatcher.on("error", () => {});
  return watcher;
}

// etcd3 passes `null` for "no previous value".
function putEvent(
  layout: EtcdLayout,
  kv: IKeyValue,
  prev: IKeyValue | null | undefined,
): RegistryEvent | undefined {
  const key = kv.key.toString();
  const row = layout.decode(kv.value.toString(), key, kv.lease !== "0");
  if (row === undefined) return undefined;
  const before = prev ? layout.decode(prev.value.toString(), key, true) : undefined;
  if (before === undefined) return registryEventOf("create", row);
  if (prev!.value.equals(kv.value)) return undefined;
  return registryEventOf("update", row);
}

function deleteEvent(
  layout: EtcdLayout,
  kv: IKeyValue,
  prev: IKeyValue | null | undefined,
): RegistryEvent | undefined {
  const key = kv.key.toString();
  const row = prev ? layout.decode(prev.value.toString(), key, true) : undefined;
  if (row !== undefined) return registryEventOf("delete", row);
  // No previous value (compacted away) or not one of ours: the key still names the node. Not a
  // record to check: one with an empty address would be logged as refused, which it was not.
  const parts = layout.parseKey(key);
  if (parts === undefined) return undefined;
  return nodeDeleteEvent(parts.name, parts.version, parts.nodeId);
}
