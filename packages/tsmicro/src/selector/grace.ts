/**
 * Grace for a service the registry reports empty. A registry that loses its clients for a
 * while (a partition) expires every lease, and when it heals its watchers see those deletes
 * before the services have registered again: for that moment the service looks gone while
 * its nodes still listen. The selector keeps the nodes that left within `graceMs` and offers
 * them when the registry has no node at all; a transport failure to a kept node drops it, so
 * a service that is really gone still fails fast (as "not found" once no kept node is left).
 */
import type { Node, Service } from "../registry/registry.js";

/** @see SelectorOptions.graceMs */
export const DEFAULT_GRACE_MS = 5000;

interface Left {
  /** The service the node belonged to, without its nodes (version, metadata, for filters). */
  service: Service;
  node: Node;
  at: number;
}

export interface Grace {
  /** Nodes of `services` left the registry at `now`. */
  left(name: string, services: readonly Service[], now: number): void;
  /** The watch reported `deleted`'s nodes gone from `cached` (the service as cached before). */
  deleted(cached: readonly Service[], deleted: Service, now: number): void;
  /** Nodes registered (again): no longer kept. */
  back(name: string, nodes: readonly Node[]): void;
  /** The services made of the nodes of `name` that left within the grace, or undefined. */
  kept(name: string, now: number): Service[] | undefined;
  /** A kept node failed at the transport level: drop it. Whether it was kept. */
  drop(name: string, nodeId: string): boolean;
  clear(): void;
  /** Services with kept nodes (for the selector's stats). */
  readonly size: number;
}

export function createGrace(graceMs: number): Grace {
  // Per service, the nodes that left, oldest first (a Map keeps insertion order).
  const byService = new Map<string, Map<string, Left>>();
  let sweepAt = 64;

  const prune = (name: string, nodes: Map<string, Left>, now: number) => {
    for (const [id, l] of nodes) {
      if (now - l.at < graceMs) break;
      nodes.delete(id);
    }
    if (nodes.size === 0) byService.delete(name);
  };

  return {
    left(name, services, now) {
      if (!(graceMs > 0)) return;
      if (byService.size >= sweepAt) {
        for (const [n, nodes] of byService) prune(n, nodes, now);
        sweepAt = Math.max(64, byService.size * 2);
      }
      let nodes = byService.get(name);
      for (const s of services) {
        if (s.nodes.length === 0) continue;
        const shell: Service = { ...s, nodes: [] };
        if (nodes === undefined) {
          nodes = new Map();
          byService.set(name, nodes);
        }
        for (const node of s.nodes) {
          nodes.delete(node.id);
          nodes.set(node.id, { service: shell, node, at: now });
        }
      }
      if (nodes !== undefined) prune(name, nodes, now);
    },
    deleted(cached, deleted, now) {
      const svc = cached.find((s) => s.version === deleted.version);
      if (svc === undefined) return;
      const ids = new Set(deleted.nodes.map((n) => n.id));
      this.left(deleted.name, [{ ...svc, nodes: svc.nodes.filter((n) => ids.has(n.id)) }], now);
    },
    back(name, nodes) {
      const kept = byService.get(name);
      if (kept === undefined) return;
      for (const n of nodes) kept.delete(n.id);
      if (kept.size === 0) byService.delete(name);
    },
    kept(name, now) {
      const nodes = byService.get(name);
      if (nodes === undefined) return undefined;
      prune(name, nodes, now);
      if (nodes.size === 0) return undefined;
      const services = new Map<Service, Service>();
      for (const l of nodes.values()) {
        let s = services.get(l.service);
        if (s === undefined) {
          s = { ...l.service, nodes: [] };
          services.set(l.service, s);
        }
        s.nodes.push(l.node);
      }
      return [...services.values()];
    },
    drop(name, nodeId) {
      const nodes = byService.get(name);
      if (nodes === undefined || !nodes.delete(nodeId)) return false;
      if (nodes.size === 0) byService.delete(name);
      return true;
    },
    clear() {
      byService.clear();
    },
    get size() {
      return byService.size;
    },
  };
}
