/**
 * One KV watch per `registry.watch()`. The watch first delivers the current value of every
 * key (the baseline: no events), then each change in stream order. The watcher keeps the
 * live rows it knows with a timer at each one's expiry: a node that stops refreshing is
 * reported deleted when its TTL runs out (and swept from the bucket, compare-and-delete),
 * a rewrite of the same value (a refresh) only moves the timer.
 */
import type { KV, KvWatchEntry } from "@nats-io/kv";
import {
  createWatcherSet,
  type RegistryRow,
  registryEventOf,
  type Watcher,
  type WatchOptions,
} from "tsmicro/plugin";
import { rowOfEntry, sweep } from "./registry-entry.js";
import { serviceFilter } from "./registry-keys.js";

interface Known {
  row: RegistryRow;
  value: string;
  revision: number;
  timer: NodeJS.Timeout | undefined;
}

export function watchNats(kv: () => Promise<KV>, options: WatchOptions, onStop: () => void): Watcher {
  const known = new Map<string, Known>();
  let stopIterator: (() => void) | undefined;
  let stopped = false;
  const set = createWatcherSet(() => {
    stopped = true;
    stopIterator?.();
    for (const k of known.values()) clearTimeout(k.timer);
    known.clear();
    onStop();
  });
  const watcher = set.add(options);
  if (stopped) return watcher;

  const forget = (key: string, report: boolean) => {
    const k = known.get(key);
    if (k === undefined) return;
    clearTimeout(k.timer);
    known.delete(key);
    if (report) set.emit([registryEventOf("delete", k.row)]);
  };

  const apply = (store: KV, e: KvWatchEntry) => {
    const row = rowOfEntry(e);
    const now = Date.now();
    if (row === undefined || (row.expiresAt !== 0 && row.expiresAt <= now)) {
      // A delete, a foreign value, or a node already past its TTL (nobody swept it yet).
      if (row !== undefined) sweep(store, e.key, e.revision);
      forget(e.key, e.isUpdate);
      return;
    }
    const value = e.string();
    const before = known.get(e.key);
    clearTimeout(before?.timer);
    const entry: Known = { row, value, revision: e.revision, timer: undefined };
    if (row.expiresAt !== 0) {
      entry.timer = setTimeout(() => {
        if (known.get(e.key) !== entry) return;
        forget(e.key, true);
        sweep(store, e.key, entry.revision);
      }, row.expiresAt - now);
      entry.timer.unref();
    }
    known.set(e.key, entry);
    if (!e.isUpdate) return; // the baseline
    if (before === undefined) set.emit([registryEventOf("create", row)]);
    else if (before.value !== value) set.emit([registryEventOf("update", row)]);
  };

  void (async () => {
    const store = await kv();
    if (stopped) return;
    const iter = await store.watch({ key: serviceFilter(options.service) });
    stopIterator = () => iter.stop();
    if (stopped) {
      iter.stop();
      return;
    }
    for await (const e of iter) apply(store, e);
  })()
    .catch(() => {})
    // The watch cannot start or ended under us: end it for the consumer, who may watch again.
    .finally(() => set.stopAll());
  return watcher;
}
