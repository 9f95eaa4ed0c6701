/** In-process registry: for tests and single-process programs. */
import type { RegisterOptions, Registry, Service } from "./registry.js";
import { diff, isLive, type Row, rowKey, rowsOf, servicesOf, type Table } from "./table.js";
import { WatcherSet } from "./watchers.js";

export function createMemoryRegistry(): Registry {
  const table: Table = new Map();
  const timers = new Map<string, NodeJS.Timeout>();
  const watchers = new WatcherSet();

  const apply = (next: Table) => {
    const events = diff(table, next);
    table.clear();
    for (const [k, v] of next) table.set(k, v);
    watchers.emit(events);
  };

  const expire = (key: string) => {
    timers.delete(key);
    const next = new Map(table);
    next.delete(key);
    apply(next);
  };

  const live = (): Row[] => {
    const now = Date.now();
    return [...table.values()].filter((r) => isLive(r, now));
  };

  return {
    name: "memory",
    async register(service: Service, options: RegisterOptions = {}) {
      const ttl = options.ttlMs ?? 0;
      const next = new Map(table);
      for (const row of rowsOf(service, ttl > 0 ? Date.now() + ttl : 0)) {
        const key = rowKey(row.name, row.version, row.node.id);
        next.set(key, row);
        clearTimeout(timers.get(key));
        timers.delete(key);
        if (ttl > 0) {
          const t = setTimeout(() => expire(key), ttl);
          t.unref();
          timers.set(key, t);
        }
      }
      apply(next);
    },
    async deregister(service: Service) {
      const next = new Map(table);
      for (const node of service.nodes) {
        const key = rowKey(service.name, service.version, node.id);
        next.delete(key);
        clearTimeout(timers.get(key));
        timers.delete(key);
      }
      apply(next);
    },
    async getService(name: string) {
      return servicesOf(live().filter((r) => r.name === name));
    },
    async listServices() {
      return servicesOf(live());
    },
    watch: (options) => watchers.add(options),
    async close() {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      watchers.stopAll();
    },
  };
}
