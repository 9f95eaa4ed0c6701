/**
 * One NATS connection for everything in a process: the registry, the broker and the
 * transport each take `{ connection }` (an open connection, or a promise of one) and then
 * never close it, or `{ servers }` to open and own a private one. Every factory here is
 * synchronous: the connection is opened on first use.
 */
import type { ConnectionOptions, NatsConnection } from "@nats-io/transport-node";
import { connect } from "@nats-io/transport-node";

/** Where NATS listens when nothing else is said. */
export const DEFAULT_NATS_SERVERS = "127.0.0.1:4222";

export interface NatsConnectionOptions {
  /**
   * A connection to share (or a promise of one). The caller owns it: closing a registry or
   * broker built on it leaves it open. @default none: open a private connection to `servers`
   */
  connection?: NatsConnection | Promise<NatsConnection>;
  /** Used only without `connection`. @default "127.0.0.1:4222" */
  servers?: string | string[];
  /** Extra `connect()` options for a private connection (auth, TLS, name). @default {} */
  connectOptions?: Omit<ConnectionOptions, "servers">;
}

/** A lazily opened connection and whether closing it is ours to do. */
export interface NatsConnectionHandle {
  /** `host:port` list, for names and error messages. */
  readonly servers: string;
  /** The connection, opened on the first call; a failed open is retried on the next call. */
  get(): Promise<NatsConnection>;
  /** Closes the connection if this handle opened it; a shared one stays open. */
  close(): Promise<void>;
}

/**
 * Opens a connection meant to be shared: reconnects forever (a registry or broker on it
 * keeps serving from cache meanwhile, and re-registers when it is back).
 */
export function createNatsConnection(
  options: Omit<NatsConnectionOptions, "connection"> = {},
): Promise<NatsConnection> {
  return connect({
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    name: "tsmicro",
    ...options.connectOptions,
    servers: options.servers ?? DEFAULT_NATS_SERVERS,
  });
}

export function natsConnectionHandle(options: NatsConnectionOptions = {}): NatsConnectionHandle {
  const shared = options.connection;
  const servers =
    shared === undefined ? [options.servers ?? DEFAULT_NATS_SERVERS].flat().join(",") : "shared";
  let opening: Promise<NatsConnection> | undefined;
  let closed = false;
  return {
    servers,
    get() {
      if (closed) return Promise.reject(new Error(`NATS connection (${servers}) was closed`));
      if (shared !== undefined) return Promise.resolve(shared);
      opening ??= createNatsConnection(options).catch((err: unknown) => {
        opening = undefined;
        throw err;
      });
      return opening;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (shared !== undefined || opening === undefined) return;
      const nc = await opening.catch(() => undefined);
      await nc?.close();
    },
  };
}
