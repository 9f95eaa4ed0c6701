/** In-process registry: for tests and single-process programs. */
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
  const timers = new Map<string, NodeJS.Timeout>();
  const watchers = new WatcherSet();

  // Each change touches only its own rows: a registry of thousands of nodes stays O(1) per node.
  const remove = (key: string, events: RegistryEvent[]) => {
    clearTimeout(timers.get(key));
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
        clearTimeout(timers.get(key));
        timers.delete(key);
        if (ttl > 0) {
          const t = setTimeout(() => {
            const expired: RegistryEvent[] = [];
            remove(key, expired);
            watchers.emit(expired);
          }, ttl);
          t.unref();
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
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      watchers.stopAll();
    },
  };
}
