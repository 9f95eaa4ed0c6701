/** Nodes, services and a recording strategy for the selector's tests. */
import type { Node, Service } from "../../src/registry/registry.js";
import type { Strategy } from "../../src/selector/strategy.js";

export function node(id: string, metadata: Record<string, string> = {}): Node {
  return { id, address: `127.0.0.1:${id.length}`, metadata };
}

export function service(
  name: string,
  nodes: Node[],
  version = "1",
  metadata: Record<string, string> = {},
): Service {
  return { name, version, metadata, endpoints: [], nodes };
}

/** A strategy that picks the first node and records the ids it was offered on the last select, sorted. */
export function recorder(): { strategy: Strategy; seen: () => string[] } {
  let last: readonly Node[] = [];
  return {
    strategy: (nodes) => {
      last = nodes;
      return () => nodes[0]!;
    },
    seen: () => last.map((n) => n.id).sort(),
  };
}
