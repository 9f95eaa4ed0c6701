/**
 * Asks every node of a service the same question (the built-in `Debug.Health` and
 * `Debug.Inflight` endpoints), each node directly by address, concurrently and bounded in time.
 */
import {
  background,
  type Client,
  MicroError,
  newRequest,
  notFound,
  type Registry,
  withTimeout,
} from "tsmicro";

export interface NodeAnswer<T> {
  service: string;
  version: string;
  node: string;
  address: string;
  /** The node's answer, when it gave one. */
  result?: T;
  /** Why it did not, when it did not. */
  error?: ReturnType<MicroError["toJSON"]>;
}

export interface EveryNodeOptions {
  /** Bound on each node's answer. @default 2000 */
  timeoutMs?: number;
  /** Fail with 404 when the service has no node. @default true */
  requireNodes?: boolean;
}

/** Calls `endpoint` on every registered node of `service` (every version); one answer per node. */
export async function callEveryNode<T = unknown>(
  client: Client,
  registry: Registry,
  service: string,
  endpoint: string,
  options: EveryNodeOptions = {},
): Promise<NodeAnswer<T>[]> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const versions = await registry.getService(service);
  // Broker subscription endpoints (the http broker's directory) are in the registry too, but are no RPC servers.
  const nodes = versions.flatMap((v) =>
    v.nodes.filter((n) => n.metadata.broker === undefined).map((n) => ({ version: v.version, node: n })),
  );
  if (nodes.length === 0 && (options.requireNodes ?? true)) {
    throw notFound(service, `service "${service}" has no nodes in registry ${registry.name}`);
  }
  return Promise.all(
    nodes.map(async ({ version, node }): Promise<NodeAnswer<T>> => {
      const base = { service, version, node: node.id, address: node.address };
      try {
        const result = await client.call<T>(
          withTimeout(background(), timeoutMs),
          newRequest(service, endpoint, {}),
          { address: node.address, retries: 0 },
        );
        return { ...base, result };
      } catch (err) {
        return { ...base, error: MicroError.from(err, service).toJSON() };
      }
    }),
  );
}
