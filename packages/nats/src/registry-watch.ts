/**
 * One KV watch per `registry.watch()`. The watch first delivers the current value of every
 * key (the baseline: no events), then each change in stream order. The watcher keeps the
 * live rows it knows with a timer at each one's expiry: a node that stops refreshing is
 * reported deleted when its TTL runs out (and swept from the bucket, compare-and-delete),
 * a rewrite of the same value (a refresh) only moves the timer.
 *
 * A watcher cut off from the server sees no refreshes, but that is no evidence that the
 * nodes died: before reporting a node gone it reads the key back. When the server cannot be
 * reached the node is kept (the consumer goes on with what it knew); once the server answers
 * again, every node gets a full TTL from that moment to show a refresh before it is dropped.
 */
import type { KV, KvWatchEntry } from "@nats-io/kv";
import {
  createWatcherSet,
  type RegistryRow,
  registryEventOf,
  startTimer,
  stopTimer,
  type Watcher,
  type WatchOptions,
} from "tsmicro/plugin";
import { rowOfEntry, sweep } from "./registry-entry.js";
import { serviceFilter } from "./registry-keys.js";

interface Known {
  row: RegistryRow;
  value: string;
  revision: number;
  timer: ReturnType<typeof startTimer>;
}

export function watchNats(kv: () => Promise<KV>, options: WatchOptions, onStop: () => void): Watcher {
  const known = new Map<string, Known>();
  let stopIterator: (() => void) | undefined;
  let stopped = false;
  const set = createWatcherSet(() => {
    stopped = true;
    stopIterator?.();
    for (const k of known.values()) stopTimer(k.timer);
    known.clear();
    onStop();
  });
  const watcher = set.add(options);
  if (stopped) return watcher;
  /** The last read-back could not reach the server. */
  let blind = false;
  /** When the server answered again after a blind spell: nodes get a TTL from then. */
  let sightSince = 0;

  const forget = (key: string, report: boolean) => {
    const k = known.get(key);
    if (k === undefined) return;
    stopTimer(k.timer);
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
    stopTimer(before?.timer);
    const entry: Known = { row, value, revision: e.revision, timer: undefined };
    if (row.expiresAt !== 0) {
      const ttlMs = row.expiresAt - e.created.getTime();
      const arm = (ms: number) => {
        // A TTL beyond 2^31−1 ms is chained by the helper, not clamped to 1 ms.
        entry.timer = startTimer(() => void expire(), ms, true);
      };
      const expire = async () => {
        if (known.get(e.key) !== entry) return;
        let latest: number | undefined;
        try {
          latest = (await store.get(e.key))?.revision;
        } catch {
          blind = true;
          if (known.get(e.key) === entry) arm(Math.min(ttlMs, 1000));
          return;
        }
        if (blind) {
          blind = false;
          sightSince = Date.now();
        }
        if (known.get(e.key) !== entry) return;
        // Written again: the watch delivers the new value (and its timer) shortly.
        if (latest !== undefined && latest !== entry.revision) return arm(ttlMs);
        const due = Math.max(row.expiresAt, sightSince + ttlMs) - Date.now();
        if (due > 0) return arm(due);
        forget(e.key, true);
        sweep(store, e.key, entry.revision);
      };
      arm(row.expiresAt - now);
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
