/**
 * Where a go-micro http broker publisher finds subscribers: every subscription of every topic
 * is a node of one registry service, so one cached lookup serves all topics; a node is picked
 * by its `topic` metadata, and its service version says broadcast or which queue group.
 * A registry watch on that service drops the cache; a node that refused a message is skipped
 * until its registration would have expired anyway.
 */
import type { Registry } from "tsmicro";
import type { Service, Watcher } from "tsmicro/plugin";

const BROADCAST = "ff.http.broadcast";

export interface Target {
  id: string;
  address: string;
  metadata: Record<string, string>;
}

export interface Targets {
  broadcast: Target[];
  /** Queue group name → its members. */
  groups: Map<string, Target[]>;
}

export class GoMicroSubscriberDirectory {
  readonly #registry: Registry;
  readonly #service: string;
  readonly #ttlMs: number;
  readonly #goneMs: number;
  readonly #gone = new Map<string, number>();
  #cache: { services: Service[]; at: number } | undefined;
  #watcher: Watcher | undefined;

  constructor(registry: Registry, service: string, options: { cacheTtlMs: number; goneMs: number }) {
    this.#registry = registry;
    this.#service = service;
    this.#ttlMs = options.cacheTtlMs;
    this.#goneMs = options.goneMs;
  }

  async lookup(topic: string): Promise<Targets> {
    this.#watch();
    const now = Date.now();
    // An empty answer is re-read soon: a subscriber that just registered must not wait a full TTL.
    const ttl = this.#cache?.services.length === 0 ? 250 : this.#ttlMs;
    if (this.#cache === undefined || now - this.#cache.at >= ttl) {
      this.#cache = { services: await this.#registry.getService(this.#service), at: Date.now() };
    }
    const targets: Targets = { broadcast: [], groups: new Map() };
    for (const s of this.#cache.services) {
      const nodes = s.nodes.filter(
        (n) => n.metadata.broker === "http" && n.metadata.topic === topic && !this.#isGone(n.id, now),
      );
      if (nodes.length === 0) continue;
      if (s.version === BROADCAST) targets.broadcast.push(...nodes);
      else targets.groups.set(s.version, [...(targets.groups.get(s.version) ?? []), ...nodes]);
    }
    return targets;
  }

  gone(id: string): void {
    this.#gone.set(id, Date.now() + this.#goneMs);
  }

  close(): void {
    this.#watcher?.stop();
    this.#watcher = undefined;
    this.#cache = undefined;
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
    const w = this.#registry.watch({ service: this.#service });
    this.#watcher = w;
    void (async () => {
      try {
        for await (const e of w) if (e.service.name === this.#service) this.#cache = undefined;
      } catch {
        // A broken watch leaves the cache TTL to refresh the list.
      }
      if (this.#watcher === w) this.#watcher = undefined;
    })();
  }
}
