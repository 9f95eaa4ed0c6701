/**
 * One NATS connection for everything in a process: the registry, the broker and the
 * transport each take `{ connection }` (an open connection, or a promise of one) and then
 * never close it, or `{ servers }` to open and own a private one. Every factory here is
 * synchronous: the connection is opened on first use.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions, NatsConnection } from "@nats-io/transport-node";
import { connect, credsAuthenticator, nkeyAuthenticator } from "@nats-io/transport-node";
import { MicroError } from "tsmicro";

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
  /**
   * Credentials for a private connection: a user and password, a token, an nkey seed
   * (`SU...`), or a `.creds` file (JWT + nkey, operator mode; read when the connection is
   * made: a file that cannot be read, or credentials the server refuses, are a MicroError
   * naming the file). A registry or broker on a server that anyone may write to is a way in:
   * see SECURITY.md. @default none
   */
  auth?: NatsAuth;
  /**
   * TLS for a private connection, with server identity: the server's certificate must be
   * signed by `ca` (default: Node's public roots) and name the host dialled; `cert`/`key` for
   * servers that verify clients. Setting it makes TLS required. @default none (plaintext)
   */
  tls?: NatsTlsOptions;
  /** Extra `connect()` options for a private connection (name, timeouts...). @default {} */
  connectOptions?: Omit<ConnectionOptions, "servers">;
}

export type NatsAuth =
  | { user: string; pass: string }
  | { token: string }
  | { nkeySeed: string }
  | { credsFile: string };

export interface NatsTlsOptions {
  /** PEM CA certificate(s) trusted for the server's certificate. @default Node's public roots */
  ca?: string;
  /** PEM client certificate, for servers that verify clients. @default none */
  cert?: string;
  /** PEM key of `cert`. @default none */
  key?: string;
}

/**
 * `connect()` options for `auth` and `tls`; a TypeError names an auth object of no known kind,
 * a 500 MicroError a `.creds` file that cannot be read.
 */
export function natsSecurityOptions(
  auth: NatsAuth | undefined,
  tls: NatsTlsOptions | undefined,
): Partial<ConnectionOptions> {
  const out: Partial<ConnectionOptions> = {};
  if (tls !== undefined) out.tls = { ...tls };
  if (auth === undefined) return out;
  if ("user" in auth) return { ...out, user: auth.user, pass: auth.pass };
  if ("token" in auth) return { ...out, token: auth.token };
  if ("nkeySeed" in auth)
    return { ...out, authenticator: nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed)) };
  if ("credsFile" in auth) return { ...out, authenticator: credsAuthenticator(readCreds(auth.credsFile)) };
  throw new TypeError(
    `nats: auth must be { user, pass }, { token }, { nkeySeed } or { credsFile }, got keys ${Object.keys(auth).join(", ")}`,
  );
}

function readCreds(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new MicroError({
      id: "tsmicro",
      code: 500,
      detail: `nats: cannot read the credentials file ${file}: ${(err as Error).message}`,
      cause: err,
    });
  }
}

/**
 * A connection made with a `.creds` file that failed: a MicroError naming the file, 401 when
 * the server refused the credentials, 500 when the file is not a creds file, else 503.
 */
function credsFailed(servers: string, file: string, err: Error): MicroError {
  const code = /authori[sz]ation|authentication/i.test(err.message)
    ? 401
    : /parse credentials/i.test(err.message)
      ? 500
      : 503;
  return new MicroError({
    id: "tsmicro",
    code,
    detail: `nats: connecting to ${servers} with the credentials file ${file}: ${err.message}`,
    retryable: code === 503,
    cause: err,
  });
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
  const servers = options.servers ?? DEFAULT_NATS_SERVERS;
  let security: Partial<ConnectionOptions>;
  try {
    security = natsSecurityOptions(options.auth, options.tls);
  } catch (err) {
    // A bad auth object is the caller's bug (thrown); an unreadable file is this call's failure.
    if (err instanceof MicroError) return Promise.reject(err);
    throw err;
  }
  const opening = connect({
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    name: "tsmicro",
    ...options.connectOptions,
    ...security,
    servers,
  });
  const auth = options.auth;
  if (auth === undefined || !("credsFile" in auth)) return opening;
  return opening.catch((err: Error) => {
    throw credsFailed([servers].flat().join(","), auth.credsFile, err);
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
