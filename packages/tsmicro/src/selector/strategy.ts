/** Strategies: given the candidate nodes, a function that picks one per attempt. */
import type { Node, Service } from "../registry/registry.js";

/** What the selector knows about each node's current load, for strategies that care. */
export interface NodeLoad {
  /** Calls this client has in flight to `node` right now. */
  inflight(node: Node): number;
}

export type Strategy = (nodes: readonly Node[], load: NodeLoad) => () => Node;

export const random: Strategy = (nodes) => () => nodes[Math.floor(Math.random() * nodes.length)]!;

/** Round robin with a shared cursor per service list, so successive calls spread out. */
export function roundRobin(): Strategy {
  let cursor = Math.floor(Math.random() * 1024);
  return (nodes) => () => nodes[cursor++ % nodes.length]!;
}

/**
 * The node with the fewest calls in flight from this client, read when each attempt picks
 * (so a slow node gets fewer calls); ties rotate, so idle nodes share the load evenly.
 */
export function leastInflight(): Strategy {
  let cursor = Math.floor(Math.random() * 1024);
  return (nodes, load) => () => {
    const start = cursor++;
    let best = nodes[start % nodes.length]!;
    let fewest = load.inflight(best);
    for (let i = 1; i < nodes.length && fewest > 0; i++) {
      const n = nodes[(start + i) % nodes.length]!;
      const c = load.inflight(n);
      if (c < fewest) {
        best = n;
        fewest = c;
      }
    }
    return best;
  };
}

/** Filters narrow the candidates before the strategy picks. */
export type NodeFilter = (service: Service, node: Node) => boolean;

/** Nodes of these service versions only. */
export function filterVersion(...versions: string[]): NodeFilter {
  const set = new Set(versions);
  return (s) => set.has(s.version);
}

/** Nodes whose metadata (else their service's) has `key` = `value`. */
export function filterMetadata(key: string, value: string): NodeFilter {
  return (s, n) => (n.metadata[key] ?? s.metadata[key]) === value;
}
