/**
 * A subscription endpoint (broker/http-endpoint.ts) to test: a server that answers 200 when
 * `?id=` names a live subscription and 404 when not, a probe of it, and the endpoint's options.
 */
import http from "node:http";
import {
  createSubscriptionEndpoint,
  type SubscriptionEndpoint,
  type SubscriptionEndpointOptions,
} from "../../src/broker/http-endpoint.js";
import type { Registry } from "../../src/registry/registry.js";

export const probeServer: SubscriptionEndpointOptions["createServer"] = (lookup) =>
  http.createServer((req, res) => {
    const id = new URL(req.url ?? "/", "http://x").searchParams.get("id") ?? "";
    res.writeHead(lookup(id) === undefined ? 404 : 200).end();
  });

/** The probe server's status for `id`, or the connection error's code. */
export async function probe(address: string, id: string): Promise<number | string> {
  try {
    const res = await fetch(`http://${address}/?id=${encodeURIComponent(id)}`, {
      signal: AbortSignal.timeout(5000),
    });
    return res.status;
  } catch (err) {
    return ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? String(err);
  }
}

/** An endpoint on 127.0.0.1:0 named "test endpoint", ids `<topic>-<n>`, counting releases. */
export function endpointFor(
  registry: Registry,
  released: { count: number },
  overrides: Partial<SubscriptionEndpointOptions> = {},
): SubscriptionEndpoint {
  let n = 0;
  return createSubscriptionEndpoint({
    name: "test endpoint",
    registry,
    address: "127.0.0.1:0",
    advertise: undefined,
    addressOption: "test endpoint address",
    advertiseOption: "the test endpoint's advertise option",
    label: "test endpoint",
    registerTtlMs: 60_000,
    registerIntervalMs: 30_000,
    onError: () => {},
    createServer: probeServer,
    record: (s, address) => ({
      name: `sub.${s.topic}`,
      version: s.queue ?? "all",
      metadata: {},
      endpoints: [],
      nodes: [{ id: s.id, address, metadata: { topic: s.topic } }],
    }),
    newId: (topic) => `${topic}-${++n}`,
    publish: async () => {},
    release: () => {
      released.count++;
    },
    ...overrides,
  });
}

/** The nodes registered for `topic`'s subscriptions. */
export async function nodesOf(registry: Registry, topic: string) {
  return (await registry.getService(`sub.${topic}`)).flatMap((s) => s.nodes);
}
