/**
 * Where the HTTP broker's publishers find subscribers: one registry service per topic
 * (`tsmicro.broker.<topic>`), one version per queue group (`queue:<name>`) or `broadcast`,
 * one node per subscription. Lookups are cached and kept fresh by one registry watch;
 * a subscription that answered "gone" is skipped until its lease would have expired anyway.
 * It is the selector of the broker's node attempts: they `mark` it as a client's mark its selector.
 */
import type { Node, Registry, Service, Watcher } from "../registry/registry.js";

export const HTTP_BROKER_SERVICE_PREFIX = "tsmicro.broker.";
export const BROADCAST_VERSION = "broadcast";

export function brokerServiceName(topic: string): string {
  return HTTP_BROKER_SERVICE_PREFIX + topic;
}

export function groupVersion(queue: string | undefined): string {
  return queue === undefined ? BROADCAST_VERSION : `queue:${queue}`;
}

export interface Targets {
  broadcast: Node[];
  groups: Map<string, Node[]>;
}

interface Entry {
  services: Service[];
  fetchedAt: number;
}

export class SubscriberDirectory {
  readonly #registry: Registry;
  readonly #ttlMs: number;
  readonly #emptyTtlMs: number;
  readonly #goneMs: number;
  readonly #cache = new Map<string, Entry>();
  readonly #gone = new Map<string, number>();
  #watcher: Watcher | undefined;

  constructor(registry: Registry, options: { cacheTtlMs: number; emptyCacheTtlMs: number; goneMs: number }) {
    this.#registry = registry;
    this.#ttlMs = options.cacheTtlMs;
    this.#emptyTtlMs = options.emptyCacheTtlMs;
    this.#goneMs = options.goneMs;
  }

  async lookup(topic: string): Promise<Targets> {
    this.#watch();
    const name = brokerServiceName(topic);
    let entry = this.#cache.get(name);
    const now = Date.now();
    const ttl = entry !== undefined && entry.services.length === 0 ? this.#emptyTtlMs : this.#ttlMs;
    if (entry === undefined || now - entry.fetchedAt >= ttl) {
      entry = { services: await this.#registry.getService(name), fetchedAt: Date.now() };
      this.#cache.set(name, entry);
    }
    const targets: Targets = { broadcast: [], groups: new Map() };
    for (const s of entry.services) {
      const nodes = s.nodes.filter((n) => !this.#isGone(n.id, now));
      if (nodes.length === 0) continue;
      if (s.version === BROADCAST_VERSION) targets.broadcast.push(...nodes);
      else targets.groups.set(s.version, nodes);
    }
    return targets;
  }

  /** The subscription refused the connection or no longer exists: skip it. */
  gone(node: Node): void {
    this.#gone.set(node.id, Date.now() + this.#goneMs);
  }

  /**
   * How a delivery to `node` went, as a selector hears it from a node attempt
   * (selector/node-attempt.ts): a failure to reach it skips it, a success clears that.
   */
  mark(_service: string, node: Node, error?: unknown): void {
    if (error !== undefined) this.gone(node);
    else if (this.#gone.size > 0) this.#gone.delete(node.id);
  }

  close(): void {
    this.#watcher?.stop();
    this.#watcher = undefined;
    this.#cache.clear();
  }

  #isGone(id: string, now: number): boolean {
    const until = this.#gone.get(id);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#gone.delete(id);
    return false;
  }

  #watch(): void {
    if (this.#watcher !== undefined) return;
    const w = this.#registry.watch();
    this.#watcher = w;
    void (async () => {
      try {
        for await (const e of w) {
          if (!e.service.name.startsWith(HTTP_BROKER_SERVICE_PREFIX)) continue;
          // Cheapest correct update: forget the topic, the next publish reads it again.
          this.#cache.delete(e.service.name);
        }
      } catch {
        // A broken watch leaves the cache TTL to refresh entries.
      }
      if (this.#watcher === w) this.#watcher = undefined;
    })();
  }
}
