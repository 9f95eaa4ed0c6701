/**
 * HTTP probes for a service (Kubernetes `livenessProbe` / `readinessProbe`):
 * `/livez` says the process serves HTTP; `/readyz` asks the service its own `Debug.Health`
 * over RPC (so the transport really answers), requires every check it reports (listening,
 * registered, broker) to pass, confirms the node in the registry, and runs your checks.
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import {
  background,
  type Client,
  MicroError,
  type MicroService,
  newClient,
  newRequest,
  withTimeout,
} from "tsmicro";
import {
  defaultAllowedHosts,
  guardRequest,
  listenAt,
  parseAddress,
  startTimer,
  stopTimer,
} from "tsmicro/plugin";

export const DEFAULT_HEALTH_ADDRESS = "127.0.0.1:8081";
export const DEFAULT_CHECK_TIMEOUT_MS = 2000;
/** Liveness probe path (`/healthz` is an alias). */
export const LIVENESS_PATH = "/livez";
/** Readiness probe path (`/health` is an alias). */
export const READINESS_PATH = "/readyz";

export interface HealthServerOptions {
  /** `host:port` to listen on; in a pod use `0.0.0.0:<port>` so the kubelet can reach it. @default "127.0.0.1:8081" */
  address?: string;
  /** Extra readiness checks by name: resolve true when ready; false or a throw is not ready. @default {} */
  checks?: Record<string, () => boolean | Promise<boolean>>;
  /** Extra GET routes on the same listener, e.g. `{ "/metrics": metrics.handler }`. @default {} */
  routes?: Record<string, RequestListener>;
  /** Bound on each check, the RPC one included. @default 2000 */
  timeoutMs?: number;
  /** Also look the node up in the registry (not only trust the service's own word). @default true */
  verifyRegistry?: boolean;
  /** The client that asks the service `Debug.Health`; give one for a non-TCP transport. @default a TCP client on the service's registry */
  client?: Client;
  /**
   * Host header values answered (port ignored); others get a 421. Guards a loopback-bound
   * listener against DNS rebinding; a pod bound to `0.0.0.0` is probed by IP, so any Host.
   * @default loopback names when bound to a loopback address, anything otherwise
   */
  allowedHosts?: readonly string[];
}

export interface CheckResult {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  status: "ready" | "not ready";
  service: string;
  node: string;
  checks: Record<string, CheckResult>;
  /** The service's `Debug.Health` answer, when it gave one. */
  health?: Record<string, unknown>;
}

export interface HealthServer {
  /** Bound `host:port`. */
  readonly address: string;
  /** Runs the readiness checks now. */
  readiness(): Promise<Readiness>;
  close(): Promise<void>;
}

export async function createHealthServer(
  service: MicroService,
  options: HealthServerOptions = {},
): Promise<HealthServer> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const ownClient = options.client === undefined;
  const client = options.client ?? newClient({ registry: service.registry, trackInflight: false });
  const startedAt = Date.now();

  const bounded = async (name: string, work: () => boolean | Promise<boolean>): Promise<CheckResult> => {
    let timer: ReturnType<typeof startTimer>;
    try {
      const ok = await Promise.race([
        Promise.resolve().then(work),
        new Promise<never>((_, reject) => {
          timer = startTimer(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return ok ? { ok: true } : { ok: false, detail: `${name} check returned false` };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    } finally {
      stopTimer(timer);
    }
  };

  const readiness = async (): Promise<Readiness> => {
    const checks: Record<string, CheckResult> = {};
    let health: Record<string, unknown> | undefined;
    let address: string | undefined;
    try {
      address = service.address;
    } catch {
      checks.listening = { ok: false, detail: "the service is not started" };
    }
    if (address !== undefined) {
      try {
        health = await client.call<Record<string, unknown>>(
          withTimeout(background(), timeoutMs),
          newRequest(service.name, "Debug.Health", {}),
          { address, retries: 0 },
        );
        checks.rpc =
          health.status === "ok" ? { ok: true } : { ok: false, detail: `status ${String(health.status)}` };
        const reported = (health.checks ?? {}) as Record<string, unknown>;
        for (const [name, value] of Object.entries(reported)) {
          const ok = value === true || value === "connected" || value === "unused";
          checks[name] = ok ? { ok } : { ok, detail: `${name}: ${String(value)}` };
        }
      } catch (err) {
        checks.rpc = { ok: false, detail: MicroError.from(err, service.name).toString() };
      }
    }
    if (options.verifyRegistry ?? true) {
      checks.registry = await bounded("registry", async () => {
        const versions = await service.registry.getService(service.name);
        if (!versions.some((v) => v.nodes.some((n) => n.id === service.nodeId))) {
          throw new Error(`node ${service.nodeId} is not in registry ${service.registry.name}`);
        }
        return true;
      });
    }
    for (const [name, check] of Object.entries(options.checks ?? {}))
      checks[name] = await bounded(name, check);
    const ready = Object.values(checks).every((c) => c.ok);
    return {
      status: ready ? "ready" : "not ready",
      service: service.name,
      node: service.nodeId,
      checks,
      ...(health === undefined ? {} : { health }),
    };
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    res.end(text);
  };

  const listenAddress = options.address ?? DEFAULT_HEALTH_ADDRESS;
  const allowedHosts =
    options.allowedHosts ?? defaultAllowedHosts(parseAddress(listenAddress, "health address").host);

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    // A bad target or Host is answered 400/421 here: no request may throw in the listener.
    const path = guardRequest(req, res, allowedHosts);
    if (path === undefined) return;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, { code: 405, detail: `${req.method} ${path}: probes are GET` });
      return;
    }
    switch (path) {
      case LIVENESS_PATH:
      case "/healthz":
        // Liveness is the process itself: a slow dependency must not get the pod restarted.
        send(res, 200, {
          status: "alive",
          service: service.name,
          node: service.nodeId,
          uptimeMs: Date.now() - startedAt,
        });
        return;
      case READINESS_PATH:
      case "/health":
        readiness().then(
          (r) => send(res, r.status === "ready" ? 200 : 503, r),
          (err: Error) => send(res, 503, { status: "not ready", detail: err.message }),
        );
        return;
      default: {
        const route = options.routes?.[path];
        if (route !== undefined) route(req, res);
        else send(res, 404, { code: 404, detail: `no probe at ${path}: /livez, /readyz, /health` });
      }
    }
  };

  const server = createServer(handler);
  const address = await listenAt(server, listenAddress, "health address");
  return {
    address,
    readiness,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (ownClient) await client.close();
    },
  };
}
