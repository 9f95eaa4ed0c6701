/**
 * Selector: picks a node for each attempt. It caches services, keeps the cache fresh from
 * one registry watch (no polling), and ejects nodes that fail at the transport level for a
 * growing back-off, then re-probes them.
 */
import { notFound } from "../errors.js";
import type { Node, Registry, RegistryEvent, Service, Watcher } from "../registry/registry.js";
import { createGrace } from "./grace.js";
import { resolveSelectorOptions } from "./options.js";
import { type NodeFilter, type NodeLoad, roundRobin, type Strategy } from "./strategy.js";

export interface SelectOptions {
  filters?: readonly NodeFilter[];
  strategy?: Strategy;
}

export type Next = () => Node;

export interface Selector {
  select(service: string, options?: SelectOptions): Promise<Next>;
  /**
   * What `select` would answer, when it can answer at once: the service is cached and fresh
   * and a node passes the filters. Undefined otherwise: `select` then fetches, waits or
   * explains the failure. Lets a call pick its node in the turn it starts, with no promise.
   * Optional for custom selectors.
   */
  selectNow?(service: string, options?: SelectOptions): Next | undefined;
  /** Report a transport failure of `node` (ejects it for a while) or success (`error` undefined). */
  mark(service: string, node: Node, error?: unknown): void;
  /** A call to `node` started (the least-in-flight strategy counts these); optional for custom selectors. */
  started?(service: string, node: Node): void;
  /** The call reported by `started` finished, however it ended. */
  finished?(service: string, node: Node): void;
  /**
   * Stops the watch and drops the cache. A closed selector still answers `select()` (a call
   * that started on an old client snapshot finishes), from the registry each time, and
   * starts nothing that would need stopping again.
   */
  close(): void;
  /** Sizes of the selector's maps, for tests and metrics; optional for custom selectors. */
  stats?(): SelectorStats;
}

export interface SelectorStats {
  /** Services cached. */
  cached: number;
  /** Nodes with an ejection record. */
  ejected: number;
  /** Nodes with calls in flight. */
  inflight: number;
}

export interface SelectorOptions {
  registry: Registry;
  /** @default round robin */
  strategy?: Strategy;
  /** Cache entries unrefreshed by the watch for this long are fetched again. @default 60000 */
  cacheTtlMs?: number;
  /**
   * First ejection of a failing node, ms; each failure of its re-probe doubles it, up to
   * `maxEjectMs` (failures while it is ejected, from calls already in flight, do not). @default 1000
   */
  ejectMs?: number;
  /** @default 30000 */
  maxEjectMs?: number;
  /**
   * When the registry reports a service's last node gone, the nodes that left within this
   * many ms stay selectable until one registers again: a registry that heals from a
   * partition reports its expired leases before the services have registered again. A
   * transport failure to a kept node drops it at once, so a service that really is gone
   * still fails fast. 0 turns it off. @default 5000 (DEFAULT_GRACE_MS)
   */
  graceMs?: number;
}

interface Entry {
  services: Service[];
  fetchedAt: number;
}

export function createSelector(given: SelectorOptions): Selector {
  const options = resolveSelectorOptions(given);
  const { registry, cacheTtlMs, ejectMs, maxEjectMs } = options;
  const defaultStrategy = options.strategy ?? roundRobin();
  const cache = new Map<string, Entry>();
  const loading = new Map<string, Promise<Service[]>>();
  const ejected = new Map<string, { until: number; failures: number }>();
  // Events for a service whose first fetch is under way: applied once it lands.
  const early = new Map<string, RegistryEvent[]>();
  const inflight = new Map<string, number>();
  const grace = createGrace(options.graceMs);
  const load: NodeLoad = { inflight: (node) => inflight.get(node.id) ?? 0 };
  let watcher: Watcher | undefined;
  let closed = false;

  const startWatch = () => {
    if (watcher !== undefined || closed) return;
    const w = registry.watch();
    watcher = w;
    void (async () => {
      try {
        for await (const event of w) {
          const entry = cache.get(event.service.name);
          if (entry !== undefined) {
            if (event.type === "delete") grace.deleted(entry.services, event.service, Date.now());
            else grace.back(event.service.name, event.service.nodes);
            applyEvent(entry, event.type, event.service);
          } else early.get(event.service.name)?.push(event);
          // A node that left takes its ejection record with it, so churn does not grow the map.
          if (event.type === "delete") for (const n of event.service.nodes) ejected.delete(n.id);
        }
      } catch {
        // Handled below as any end of the watch.
      }
      // Events may have been missed: fetch again on the next select, and watch again. The
      // stale entries stay until then, so a fetch that finds the service empty can grant grace.
      if (watcher === w) {
        watcher = undefined;
        for (const e of cache.values()) e.fetchedAt = Number.NEGATIVE_INFINITY;
      }
    })();
  };

  const fetch = (name: string): Promise<Service[]> => {
    let p = loading.get(name);
    if (p === undefined) {
      early.set(name, []);
      p = registry.getService(name).then(
        (services) => {
          loading.delete(name);
          const entry: Entry = { services, fetchedAt: Date.now() };
          for (const e of early.get(name) ?? []) applyEvent(entry, e.type, e.service);
          early.delete(name);
          const old = cache.get(name);
          if (old !== undefined && !hasNodes(entry.services)) grace.left(name, old.services, Date.now());
          // Closed meanwhile: answer this call, keep nothing.
          if (!closed) cache.set(name, entry);
          return entry.services;
        },
        (err) => {
          loading.delete(name);
          early.delete(name);
          throw err;
        },
      );
      loading.set(name, p);
    }
    return p;
  };

  // Ejections of nodes the watch never reported gone (their service was not cached when
  // they left): swept once the map doubles, keeping those still ejected or still known.
  let sweepAt = 64;
  const sweepEjected = (now: number) => {
    const known = new Set<string>();
    for (const e of cache.values()) for (const s of e.services) for (const n of s.nodes) known.add(n.id);
    for (const [id, e] of ejected) if (e.until <= now && !known.has(id)) ejected.delete(id);
    sweepAt = Math.max(64, ejected.size * 2);
  };

  const notFoundError = async (name: string, why: string) => {
    let similar = "";
    try {
      const all = [...new Set((await registry.listServices()).map((s) => s.name))];
      const close = all.filter((n) => isSimilar(n, name));
      similar =
        all.length === 0
          ? "; it holds no services"
          : `; it holds ${all.length} service(s)${close.length > 0 ? `, similar: ${close.join(", ")}` : `: ${all.slice(0, 10).join(", ")}`}`;
    } catch {
      // The listing is a hint only.
    }
    return notFound("tsmicro", `service "${name}" ${why} in registry ${registry.name}${similar}`);
  };

  // The candidates after the filters, then the strategy's pick among the healthy ones;
  // undefined when no node passes the filters.
  const pick = (services: readonly Service[], selectOptions: SelectOptions): Next | undefined => {
    const filters = selectOptions.filters;
    const strategy = selectOptions.strategy ?? defaultStrategy;
    // The common case (one version, no filters, nothing ejected) picks from the cached list itself.
    if (services.length === 1 && filters === undefined && ejected.size === 0) {
      const nodes = services[0]!.nodes;
      return nodes.length === 0 ? undefined : strategy(nodes, load);
    }
    const nodes: Node[] = [];
    for (const s of services) {
      for (const n of s.nodes) if (filters === undefined || filters.every((f) => f(s, n))) nodes.push(n);
    }
    if (nodes.length === 0) return undefined;
    const now = Date.now();
    const healthy = nodes.filter((n) => {
      const e = ejected.get(n.id);
      return e === undefined || e.until <= now;
    });
    // All ejected: try them anyway rather than fail without a probe.
    return strategy(healthy.length > 0 ? healthy : nodes, load);
  };

  return {
    async select(name, selectOptions = {}) {
      startWatch();
      const entry = cache.get(name);
      let services = closed
        ? await registry.getService(name)
        : entry !== undefined && Date.now() - entry.fetchedAt < cacheTtlMs
          ? entry.services
          : await fetch(name);
      if (!closed && !hasNodes(services)) services = grace.kept(name, Date.now()) ?? services;
      const next = pick(services, selectOptions);
      if (next !== undefined) return next;
      throw await notFoundError(
        name,
        services.length === 0 ? "not found" : "has no node matching the filters",
      );
    },
    selectNow(name, selectOptions = {}) {
      // A closed selector has an empty cache: undefined, and select answers from the registry.
      startWatch();
      const entry = cache.get(name);
      if (entry === undefined || Date.now() - entry.fetchedAt >= cacheTtlMs) return undefined;
      return pick(entry.services, selectOptions);
    },
    mark(service, node, error) {
      if (error === undefined) {
        if (ejected.size > 0) ejected.delete(node.id);
        return;
      }
      if (closed) return;
      grace.drop(service, node.id);
      // A call that was in flight when its node left reports it after the delete event:
      // nothing to eject, and a record kept would outlive the node.
      const entry = cache.get(service);
      if (entry !== undefined && !entry.services.some((s) => s.nodes.some((n) => n.id === node.id))) return;
      const now = Date.now();
      if (ejected.size >= sweepAt) sweepEjected(now);
      const prev = ejected.get(node.id);
      // Calls that were already in flight when the node failed fail together: one ejection.
      if (prev !== undefined && prev.until > now) return;
      const failures = (prev?.failures ?? 0) + 1;
      ejected.set(node.id, {
        failures,
        until: now + Math.min(maxEjectMs, ejectMs * 2 ** (failures - 1)),
      });
    },
    started(_service, node) {
      inflight.set(node.id, (inflight.get(node.id) ?? 0) + 1);
    },
    finished(_service, node) {
      const n = (inflight.get(node.id) ?? 0) - 1;
      if (n > 0) inflight.set(node.id, n);
      else inflight.delete(node.id);
    },
    stats() {
      return { cached: cache.size, ejected: ejected.size, inflight: inflight.size };
    },
    close() {
      closed = true;
      watcher?.stop();
      watcher = undefined;
      cache.clear();
      early.clear();
      ejected.clear();
      grace.clear();
    },
  };
}

function hasNodes(services: readonly Service[]): boolean {
  return services.some((s) => s.nodes.length > 0);
}

function applyEvent(entry: Entry, type: string, changed: Service): void {
  let svc = entry.services.find((s) => s.version === changed.version);
  if (type === "delete") {
    if (svc === undefined) return;
    const ids = new Set(changed.nodes.map((n) => n.id));
    svc.nodes = svc.nodes.filter((n) => !ids.has(n.id));
    if (svc.nodes.length === 0) entry.services = entry.services.filter((s) => s !== svc);
    return;
  }
  if (svc === undefined) {
    svc = { ...changed, nodes: [] };
    entry.services = [...entry.services, svc];
  } else {
    svc.metadata = changed.metadata;
    svc.endpoints = changed.endpoints;
  }
  for (const n of changed.nodes) {
    const i = svc.nodes.findIndex((x) => x.id === n.id);
    if (i >= 0) svc.nodes[i] = n;
    else svc.nodes.push(n);
  }
}

function isSimilar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x.includes(y) || y.includes(x) || editDistance(x, y) <= Math.max(1, Math.floor(y.length / 4));
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
