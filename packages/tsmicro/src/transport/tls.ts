/**
 * TLS and mutual TLS for the TCP transport, through `node:tls`. This file holds the options,
 * how they become node:tls options on each side, and the translation of OpenSSL's error
 * codes into a sentence that says which check failed (wrong CA, expired, name mismatch,
 * missing client certificate) instead of an OpenSSL stack line.
 */
import {
  type ConnectionOptions,
  connect,
  type SecureVersion,
  type TLSSocket,
  type TlsOptions,
  checkServerIdentity as tlsCheckServerIdentity,
} from "node:tls";

export interface TcpTlsOptions {
  /**
   * PEM certificate (chain) of this side: the server's on `listen`, and the client certificate
   * presented on `dial` (mutual TLS). Required to listen.
   * @default none
   */
  cert?: string | Buffer;
  /** PEM private key of `cert`. Required with `cert`. @default none */
  key?: string | Buffer;
  /**
   * PEM CA certificate(s) trusted to sign the peer's certificate: the server's (checked by the
   * client) and, with `requireClientCert`, the clients'.
   * @default Node's bundled public root CAs
   */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** Server: demand a client certificate signed by `ca` and refuse clients without one (mutual TLS). @default false */
  requireClientCert?: boolean;
  /** Client: the name the server's certificate must carry. @default the host of the dialled address */
  serverName?: string;
  /** Oldest protocol version accepted on either side. @default "TLSv1.2" */
  minVersion?: SecureVersion;
}

export const DEFAULT_TLS_MIN_VERSION: SecureVersion = "TLSv1.2";

const TLS_OPTION_KEYS: readonly (keyof TcpTlsOptions)[] = [
  "cert",
  "key",
  "ca",
  "requireClientCert",
  "serverName",
  "minVersion",
];

/**
 * Refuses a TLS options object with a key no transport knows, so a misspelt option (gRPC's
 * `requestClientCert`, say) cannot silently leave mutual TLS off. Shared by every transport.
 */
export function checkTlsOptions(tls: object, where: string): void {
  for (const k of Object.keys(tls)) {
    if ((TLS_OPTION_KEYS as readonly string[]).includes(k)) continue;
    const hint = /client.?cert/i.test(k) ? '; mutual TLS is "requireClientCert"' : "";
    throw new TypeError(`${where}: unknown tls option "${k}"${hint}; known: ${TLS_OPTION_KEYS.join(", ")}`);
  }
}

/** Mutual TLS needs the CA that signs client certificates: without one, public roots would do. */
export function checkClientCertCa(tls: TcpTlsOptions, where: string): void {
  if (tls.requireClientCert === true && tls.ca === undefined) {
    throw new TypeError(
      `${where}: tls.requireClientCert needs tls.ca, the CA that signs client certificates`,
    );
  }
}

/**
 * Hardens an accepted TLS socket: no renegotiation (a client-triggered CPU cost per
 * renegotiation, and a TLS 1.2 attack surface), whatever the protocol version.
 */
export function hardenTlsServerSocket(socket: TLSSocket): void {
  socket.disableRenegotiation();
  // Node only reports the attempt (an "error" event); the connection must also end.
  socket.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "ERR_TLS_RENEGOTIATION_DISABLED") socket.destroy();
  });
}

/** node:tls server options for `tls.createServer`. Throws a TypeError naming what is missing. */
export function tlsServerOptions(tls: TcpTlsOptions, handshakeTimeoutMs: number): TlsOptions {
  if (tls.cert === undefined || tls.key === undefined) {
    throw new TypeError("tcp transport: tls.cert and tls.key are required to listen with TLS");
  }
  checkClientCertCa(tls, "tcp transport");
  return {
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca as TlsOptions["ca"],
    requestCert: tls.requireClientCert === true,
    rejectUnauthorized: tls.requireClientCert === true,
    minVersion: tls.minVersion ?? DEFAULT_TLS_MIN_VERSION,
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** Opens a TLS connection; listen for `secureConnect`, then `awaitTlsAdmission`. */
export function connectTls(host: string, port: number, tls: TcpTlsOptions): TLSSocket {
  const options: ConnectionOptions = {
    host,
    port,
    ca: tls.ca as ConnectionOptions["ca"],
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: true,
    minVersion: tls.minVersion ?? DEFAULT_TLS_MIN_VERSION,
  };
  const name = tls.serverName ?? (isIp(host) ? undefined : host);
  if (name !== undefined) options.servername = name;
  if (tls.serverName !== undefined && isIp(host)) {
    // SNI cannot carry an IP address; the certificate is still checked against `serverName`.
    options.checkServerIdentity = checkAgainst(tls.serverName);
  }
  return connect(options);
}

/**
 * In TLS 1.3 the server checks the client's certificate after the client considers the
 * handshake done, so a refused client learns it from an alert one round trip later. Waiting
 * for the server's session ticket (sent only to an admitted client) or that alert makes the
 * refusal a dial error instead of a failure of the first call. Bounded: a server that sends
 * no tickets costs at most `maxWaitMs`.
 */
export function awaitTlsAdmission(socket: TLSSocket, maxWaitMs: number): Promise<"admitted" | "closed"> {
  if (socket.getProtocol() !== "TLSv1.3") return Promise.resolve("admitted");
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.off("session", done);
      socket.off("error", done);
      socket.off("close", done);
      // Not from inside the "session" event: a write made there is lost (seen on Node 20).
      setImmediate(() => resolve(socket.destroyed ? "closed" : "admitted"));
    };
    const timer = setTimeout(done, Math.max(0, maxWaitMs));
    socket.once("session", done);
    // Errors are reported by the dialler's own listener; this one only stops waiting.
    socket.once("error", done);
    socket.once("close", done);
  });
}

/** How long `dial` waits for TLS 1.3 admission at most. */
export const TLS_ADMISSION_WAIT_MS = 2000;

const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
]);

/**
 * A sentence for a TLS failure seen by the client, naming the check that failed, or
 * undefined when `err` is not a TLS failure.
 */
export function describeTlsClientError(err: Error & { code?: string }, address: string): string | undefined {
  const code = err.code ?? "";
  const tail = ` (${code}: ${firstLine(err.message)})`;
  if (UNTRUSTED.has(code)) {
    return `tls: wrong CA: the certificate of ${address} is not signed by a CA this client trusts${tail}`;
  }
  if (code === "CERT_HAS_EXPIRED")
    return `tls: expired certificate: the certificate of ${address} has expired${tail}`;
  if (code === "CERT_NOT_YET_VALID") {
    return `tls: certificate not yet valid: the certificate of ${address} is not valid yet${tail}`;
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return `tls: name mismatch: the certificate of ${address} is not valid for the name dialled${tail}`;
  }
  if (code === "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED") {
    return `tls: missing client certificate: ${address} requires one (mutual TLS) and this client sent none${tail}`;
  }
  if (code === "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE") {
    // TLS 1.2 servers answer a missing client certificate with a bare handshake failure.
    return `tls: handshake refused by ${address}: most often a missing client certificate (mutual TLS)${tail}`;
  }
  if (
    code === "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA" ||
    code === "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE" ||
    code === "ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED"
  ) {
    return `tls: client certificate rejected: ${address} does not accept this client's certificate${tail}`;
  }
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_PACKET_LENGTH_TOO_LONG") {
    return `tls: ${address} does not speak TLS (a plaintext server?)${tail}`;
  }
  if (code === "ECONNRESET" && /before secure TLS connection/.test(err.message)) {
    return `tls: ${address} closed the connection during the TLS handshake (a plaintext server, or one refusing this client)${tail}`;
  }
  if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || code.startsWith("CERT_")) {
    return `tls: handshake with ${address} failed${tail}`;
  }
  return undefined;
}

/**
 * Node's TLS server refuses a client certificate that fails verification by closing the
 * socket, without an alert: the client sees only the close, right after its handshake.
 */
export function describeTlsClosedAfterHandshake(address: string, sentCert: boolean): string {
  return sentCert
    ? `tls: client certificate rejected: ${address} closed the connection after the handshake, refusing this client's certificate (not signed by a CA it trusts, or expired)`
    : `tls: ${address} closed the connection after the handshake: most often a missing client certificate (mutual TLS)`;
}

/** A sentence for a TLS failure seen by the server (`tlsClientError`). */
export function describeTlsServerError(
  err: Error & { code?: string },
  peer: string,
  authorizationError?: string | Error,
): string {
  // A client certificate that fails verification shows only on the socket, as a hang-up.
  // Node sets it to the verify error's code (a string), though its types say Error.
  const code =
    authorizationError === undefined
      ? (err.code ?? "")
      : typeof authorizationError === "string"
        ? authorizationError
        : ((authorizationError as { code?: string }).code ?? authorizationError.message);
  const tail = ` (${code || "no code"}: ${firstLine(err.message)})`;
  if (code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE") {
    return `tls: missing client certificate: ${peer} sent none and mutual TLS requires one${tail}`;
  }
  if (UNTRUSTED.has(code) || code === "ERR_SSL_CERTIFICATE_VERIFY_FAILED") {
    return `tls: client certificate rejected: ${peer} presented a certificate not signed by a trusted CA${tail}`;
  }
  if (code === "CERT_HAS_EXPIRED")
    return `tls: client certificate rejected: the one from ${peer} has expired${tail}`;
  if (code === "ERR_SSL_HTTP_REQUEST" || code === "ERR_SSL_WRONG_VERSION_NUMBER") {
    return `tls: ${peer} is not a TLS client (plaintext?)${tail}`;
  }
  if (code === "ERR_TLS_HANDSHAKE_TIMEOUT" || /timeout/i.test(err.message)) {
    return `tls: handshake timeout: ${peer} did not complete the TLS handshake in time${tail}`;
  }
  return `tls: handshake with ${peer} failed${tail}`;
}

function firstLine(message: string): string {
  // OpenSSL messages carry a source path after the reason; keep the reason.
  const m = /:([^:]+):[^:]*\.c:\d+/.exec(message);
  return (m?.[1] ?? message.split("\n")[0] ?? "").trim();
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

function checkAgainst(name: string): ConnectionOptions["checkServerIdentity"] {
  return (_host, cert) => tlsCheckServerIdentity(name, cert);
}
