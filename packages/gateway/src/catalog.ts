/**
 * What the registry knows, cached briefly: the gateway calls only endpoints a registered
 * service lists, so an invented `/api/{s}/{e}` is answered here and never reaches the client,
 * its wrappers (metrics, tracing) or the dashboard's stats: junk paths make no new series.
 */
import type { Registry } from "tsmicro";
import type { Endpoint, Service } from "tsmicro/plugin";

/** Built-in endpoints every tsmicro node serves but does not list; only the harmless one is callable. */
const BUILT_IN: readonly string[] = ["Debug.Health"];

export type EndpointKind = "unary" | "server" | "client" | "bidi";

export interface KnownEndpoint {
  name: string;
  kind: EndpointKind;
  endpoint: Endpoint;
}

export interface Catalog {
  /** The service's versions, or undefined when none is registered. */
  service(name: string): Promise<Service[] | undefined>;
  /** The endpoint, when a registered version of the service lists it. */
  endpoint(service: Service[], endpoint: string): KnownEndpoint | undefined;
  /** Names of the registered RPC services, sorted (for a trusted caller's 404). */
  list(): Promise<string[]>;
  /** Every endpoint name the service lists (for "it has: …" details). */
  names(service: Service[]): string[];
}

export interface CatalogOptions {
  /** How long a registry answer is reused, in ms. @default 1000 */
  ttlMs?: number;
  /** How long "not registered" is reused, in ms (short: a service that just started is found soon). @default 250 */
  negativeTtlMs?: number;
  /** Service names remembered; the oldest is forgotten beyond. @default 1000 */
  maxEntries?: number;
}

export function createCatalog(registry: Registry, options: CatalogOptions = {}): Catalog {
  const ttlMs = options.ttlMs ?? 1000;
  const negativeTtlMs = options.negativeTtlMs ?? 250;
  const maxEntries = options.maxEntries ?? 1000;
  const cache = new Map<string, { at: number; value: Service[] | undefined }>();
  return {
    async service(name) {
      const now = Date.now();
      const hit = cache.get(name);
      if (hit !== undefined && now - hit.at < (hit.value === undefined ? negativeTtlMs : ttlMs)) {
        return hit.value;
      }
      const found = (await registry.getService(name)).filter((v) =>
        v.nodes.some((n) => n.metadata.broker === undefined),
      );
      const value = found.length === 0 ? undefined : found;
      cache.delete(name);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
      cache.set(name, { at: now, value });
      return value;
    },
    async list() {
      const all = await registry.listServices();
      return [
        ...new Set(
          all.filter((v) => v.nodes.some((n) => n.metadata.broker === undefined)).map((v) => v.name),
        ),
      ].sort();
    },
    endpoint(service, name) {
      for (const v of service) {
        const e = v.endpoints.find((x) => x.name === name);
        if (e !== undefined) return { name, kind: kindOf(e), endpoint: e };
      }
      return BUILT_IN.includes(name) ? { name, kind: "unary", endpoint: { name } } : undefined;
    },
    names(service) {
      return [...new Set(service.flatMap((v) => v.endpoints.map((e) => e.name)))].sort();
    },
  };
}

function kindOf(e: Endpoint): EndpointKind {
  const k = e.metadata?.stream;
  return k === "server" || k === "client" || k === "bidi" ? k : "unary";
}
