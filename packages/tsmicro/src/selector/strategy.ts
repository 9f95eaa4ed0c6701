/** Strategies: given the candidate nodes, a function that picks one per attempt. */
import type { Node } from "../registry/registry.js";

export type Strategy = (nodes: readonly Node[]) => () => Node;

export const random: Strategy = (nodes) => () => nodes[Math.floor(Math.random() * nodes.length)]!;

/** Round robin with a shared cursor per service list, so successive calls spread out. */
export function roundRobin(): Strategy {
  let cursor = Math.floor(Math.random() * 1024);
  return (nodes) => () => nodes[cursor++ % nodes.length]!;
}

/** Filters narrow the candidates before the strategy picks. */
export type NodeFilter = (service: import("../registry/registry.js").Service, node: Node) => boolean;

export function filterVersion(...versions: string[]): NodeFilter {
  const set = new Set(versions);
  return (s) => set.has(s.version);
}

export function filterMetadata(key: string, value: string): NodeFilter {
  return (_s, n) => n.metadata[key] === value;
}
