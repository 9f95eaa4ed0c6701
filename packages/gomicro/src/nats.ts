/**
 * go-micro's NATS registry (the go-micro nats plugin, v4): no server-side state. Each node
 * answers queries on `micro.registry.nats.query` (`{"Action":"get"|"list","Service":...}`,
 * one reply per service record to the query's inbox) for the services it registered, and
 * announces register/deregister on `micro.registry.nats.watch` as `{"Action","Service"}`.
 * A lookup gathers the replies that arrive within `queryTimeoutMs`.
 *
 * The protocol has no TTL: a node killed without deregistering just stops answering. So that
 * watchers (and tsmicro's selector) still see it go, every lookup's answer updates what this
 * registry knows, and while anyone watches, every `pollMs` it asks all nodes for their
 * services and reports the nodes it had seen that no longer answer as deleted.
 */
import { randomUUID } from "node:crypto";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { type NatsConnectionOptions, natsConnectionHandle } from "@tsmicro/nats";
import { MicroError, type Registry } from "tsmicro";
import {
  createWatcherSet,
  type RegistryEvent,
  type RegistryRow,
  type Service,
  servicesOfRows as servicesOf,
  startTimer,
  stopTimer,
  type Watcher,
  type WatchOptions,
} from "tsmicro/plugin";
import { goMicroRecordsOf, rowsOfGoMicroService } from "./record.js";

export interface GoMicroNatsRegistryOptions extends NatsConnectionOptions {
  /** Subject of queries. @default "micro.registry.nats.query" */
  queryTopic?: string;
  /** Subject of register/deregister announcements. @default "micro.registry.nats.watch" */
  watchTopic?: string;
  /** How long a lookup gathers replies, ms (go-micro's default is 100). @default 100 */
  queryTimeoutMs?: number;
  /** A lookup ends early once one version has this many nodes; 0 waits the whole timeout. @default 0 */
  quorum?: number;
  /** How often a watcher re-queries the services it has seen, to notice nodes gone without a word, ms. @default 5000 */
  pollMs?: number;
}

export const DEFAULT_GO_MICRO_NATS_REGISTRY_OPTIONS = {
  queryTopic: "micro.registry.nats.query",
  watchTopic: "micro.registry.nats.watch",
  queryTimeoutMs: 100,
  quorum: 0,
  pollMs: 5000,
};

type Action = "create" | "update" | "delete" | "get" | "list";

const rowKey = (r: RegistryRow) => `${r.name}\u0000${r.version}\u0000${r.node.id}`;

export function createGoMicroNatsRegistry(options: GoMicroNatsRegistryOptions = {}): Registry {
  const o = { ...DEFAULT_GO_MICRO_NATS_REGISTRY_OPTIONS };
  for (const k of Object.keys(o) as (keyof typeof o)[])
    if (options[k] !== undefined) (o as Record<string, unknown>)[k] = options[k];
  const handle = natsConnectionHandle(options);
  const name = `go-micro nats (${handle.servers})`;
  /** What this registry registered: service name → row key → row. */
  const held = new Map<string, Map<string, RegistryRow>>();
  let answering: Promise<Subscription> | undefined;
  let closed = false;

  const fail = (what: string, err: unknown) =>
    new MicroError({
      id: "go.micro.registry",
      code: 503,
      detail: `${name}: ${what}: ${(err as Error)?.message ?? err}`,
      cause: err,
    });
  const conn = async (): Promise<NatsConnection> => {
    if (closed) throw new MicroError({ id: "go.micro.registry", code: 503, detail: `${name} is closed` });
    return handle.get().catch((err) => {
      throw fail("cannot connect", err);
    });
  };
  const encode = (action: Action, service: unknown) => JSON.stringify({ Action: action, Service: service });

  /** Answers go-micro queries for every service held here, as a go-micro node does for its own. */
  const answer = (nc: NatsConnection) =>
    nc.subscribe(o.queryTopic, {
      callback: (err, msg) => {
        if (err || !msg.reply) return;
        let q: { action?: string; Action?: string; service?: { name?: string }; Service?: { name?: string } };
        try {
          q = msg.json();
        } catch {
          return;
        }
        const action = q.Action ?? q.action;
        const wanted = (q.Service ?? q.service)?.name;
        for (const [svc, rows] of held) {
          if (action === "get" && svc !== wanted) continue;
          if (action !== "get" && action !== "list") return;
          for (const record of recordsByVersion([...rows.values()]))
            nc.publish(msg.reply, JSON.stringify(record));
        }
      },
    });

  const query = async (service: string | undefined): Promise<Service[]> => {
    const nc = await conn();
    const inbox = `_INBOX.${randomUUID().replaceAll("-", "")}`;
    const rows = new Map<string, RegistryRow>();
    await new Promise<void>((resolve) => {
      const timer = startTimer(done, o.queryTimeoutMs);
      const sub = nc.subscribe(inbox, {
        callback: (err, msg) => {
          if (err) return done();
          let v: unknown;
          try {
            v = msg.json();
          } catch {
            return;
          }
          for (const r of rowsOfGoMicroService(v)) rows.set(rowKey(r), r);
          if (o.quorum > 0 && service !== undefined) {
            const perVersion = new Map<string, number>();
            for (const r of rows.values()) perVersion.set(r.version, (perVersion.get(r.version) ?? 0) + 1);
            if ([...perVersion.values()].some((n) => n >= o.quorum)) done();
          }
        },
      });
      function done() {
        stopTimer(timer);
        sub.unsubscribe();
        resolve();
      }
      nc.publish(
        o.queryTopic,
        encode(service === undefined ? "list" : "get", service === undefined ? null : { name: service }),
        {
          reply: inbox,
        },
      );
    });
    return servicesOf([...rows.values()]);
  };

  // Every node this registry has seen (answers, announcements), for the watchers' events.
  const known = new Map<string, RegistryRow>();
  let watchSub: Subscription | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let watching = false;
  const stopWatching = () => {
    watching = false;
    clearInterval(pollTimer);
    pollTimer = undefined;
    watchSub?.unsubscribe();
    watchSub = undefined;
  };
  const watchers = createWatcherSet(stopWatching);
  const emit = (type: RegistryEvent["type"], r: RegistryRow) =>
    watchers.emit([{ type, service: servicesOf([r])[0]! }]);
  const observe = (type: string, r: RegistryRow) => {
    const k = rowKey(r);
    const before = known.get(k);
    if (type === "delete") {
      known.delete(k);
      emit("delete", r);
      return;
    }
    known.set(k, r);
    // go-micro announces every re-registration as a create: only news is passed on.
    if (before === undefined) emit("create", r);
    else if (!sameNode(before, r)) emit("update", r);
  };
  /** A lookup's answer is the truth for what it covered: new nodes appear, silent ones are gone. */
  const observeAnswer = (found: Service[], service: string | undefined): Service[] => {
    const alive = new Set<string>();
    for (const s of found) {
      for (const node of s.nodes) {
        const r: RegistryRow = { ...s, node, expiresAt: 0 };
        alive.add(rowKey(r));
        observe("create", r);
      }
    }
    for (const [k, r] of known)
      if ((service === undefined || r.name === service) && !alive.has(k)) observe("delete", r);
    return found;
  };
  const startWatching = () => {
    if (watching) return;
    watching = true;
    void conn().then(
      (nc) => {
        if (!watching) return;
        watchSub = nc.subscribe(o.watchTopic, {
          callback: (err, msg) => {
            if (err) return;
            let v: { Action?: string; action?: string; Service?: unknown; service?: unknown };
            try {
              v = msg.json();
            } catch {
              return;
            }
            const action = v.Action ?? v.action ?? "";
            for (const r of rowsOfGoMicroService(v.Service ?? v.service)) observe(action, r);
          },
        });
        // One "list" per round, which every node answers.
        pollTimer = setInterval(() => {
          void query(undefined).then(
            (found) => watching && observeAnswer(found, undefined),
            () => {},
          );
        }, o.pollMs);
        pollTimer.unref();
      },
      () => watchers.stopAll(),
    );
  };

  return {
    name,
    async register(service: Service) {
      const nc = await conn();
      answering ??= Promise.resolve(answer(nc));
      await answering;
      const rows = held.get(service.name) ?? new Map<string, RegistryRow>();
      held.set(service.name, rows);
      for (const node of service.nodes) {
        const row: RegistryRow = { ...service, node, expiresAt: 0 };
        rows.set(rowKey(row), row);
      }
      for (const record of goMicroRecordsOf(service)) nc.publish(o.watchTopic, encode("create", record));
      await nc.flush().catch((err) => {
        throw fail("register", err);
      });
    },
    async deregister(service: Service) {
      const nc = await conn();
      const rows = held.get(service.name);
      for (const node of service.nodes) rows?.delete(rowKey({ ...service, node, expiresAt: 0 }));
      if (rows?.size === 0) held.delete(service.name);
      for (const record of goMicroRecordsOf(service)) nc.publish(o.watchTopic, encode("delete", record));
      await nc.flush().catch((err) => {
        throw fail("deregister", err);
      });
    },
    getService: (serviceName) => query(serviceName).then((found) => observeAnswer(found, serviceName)),
    listServices: () => query(undefined).then((found) => observeAnswer(found, undefined)),
    watch(watchOptions: WatchOptions = {}): Watcher {
      const watcher = watchers.add(watchOptions);
      startWatching();
      return watcher;
    },
    async close() {
      if (closed) return;
      watchers.stopAll();
      stopWatching();
      const sub = await answering?.catch(() => undefined);
      sub?.unsubscribe();
      closed = true;
      await handle.close();
    },
  };
}

function sameNode(a: RegistryRow, b: RegistryRow): boolean {
  const sorted = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
  return (
    a.node.address === b.node.address &&
    sorted(a.node.metadata) === sorted(b.node.metadata) &&
    sorted(a.metadata) === sorted(b.metadata)
  );
}

/** One record per version, holding that version's nodes (as a go-micro node answers). */
function recordsByVersion(rows: RegistryRow[]) {
  return servicesOf(rows).flatMap((s) => {
    const [first, ...rest] = goMicroRecordsOf(s);
    if (!first) return [];
    first.nodes = [...(first.nodes ?? []), ...rest.flatMap((r) => r.nodes ?? [])];
    return [first];
  });
}
