/** In-process registry: for tests and single-process programs. */

import { type DeadlineTimer, startTimer, stopTimer } from "../util/deadline.js";
import type { RegisterOptions, Registry, RegistryEvent, RegistryRow, Service } from "./registry.js";
import {
  isLive,
  registryEventOf,
  registryRowsOf,
  rowKey,
  sameRow,
  servicesOfRows,
  type Table,
} from "./table.js";
import { WatcherSet } from "./watchers.js";

/** A registry inside this process, for tests. */
export function createMemoryRegistry(): Registry {
  const table: Table = new Map();
  const timers = new Map<string, DeadlineTimer>();
  const watchers = new WatcherSet();

  // Each change touches only its own rows: a registry of thousands of nodes stays O(1) per node.
  const remove = (key: string, events: RegistryEvent[]) => {
    stopTimer(timers.get(key));
    timers.delete(key);
    const row = table.get(key);
    if (row === undefined) return;
    table.delete(key);
    events.push(registryEventOf("delete", row));
  };

  const live = (): RegistryRow[] => {
    const now = Date.now();
    return [...table.values()].filter((r) => isLive(r, now));
  };

  return {
    name: "memory",
    async register(service: Service, options: RegisterOptions = {}) {
      const ttl = options.ttlMs ?? 0;
      const events: RegistryEvent[] = [];
      for (const row of registryRowsOf(service, ttl > 0 ? Date.now() + ttl : 0)) {
        const key = rowKey(row.name, row.version, row.node.id);
        const old = table.get(key);
        table.set(key, row);
        if (old === undefined) events.push(registryEventOf("create", row));
        else if (!sameRow(old, row)) events.push(registryEventOf("update", row));
        stopTimer(timers.get(key));
        timers.delete(key);
        if (ttl > 0) {
          // A TTL beyond 2^31−1 ms is chained by the helper, not clamped to 1 ms.
          const t = startTimer(
            () => {
              const expired: RegistryEvent[] = [];
              remove(key, expired);
              watchers.emit(expired);
            },
            ttl,
            true,
          );
          timers.set(key, t);
        }
      }
      watchers.emit(events);
    },
    async deregister(service: Service) {
      const events: RegistryEvent[] = [];
      for (const node of service.nodes) remove(rowKey(service.name, service.version, node.id), events);
      watchers.emit(events);
    },
    async getService(name: string) {
      return servicesOfRows(live().filter((r) => r.name === name));
    },
    async listServices() {
      return servicesOfRows(live());
    },
    watch: (options) => watchers.add(options),
    async close() {
      for (const t of timers.values()) stopTimer(t);
      timers.clear();
      watchers.stopAll();
    },
  };
}
