/**
 * Pinned behaviours of the TCP transport's TLS module (transport/tls.ts) that its suite's real
 * handshakes do not each reach: the options check and its hint, the server options, renegotiation
 * refused, the wait for TLS 1.3 admission, and the sentence for every OpenSSL code the client or
 * the server may see, with the reason cut from OpenSSL's message.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, describe, it, mock } from "node:test";
import type { TLSSocket } from "node:tls";
import { createServer as createTlsServer } from "node:tls";
import {
  awaitTlsAdmission,
  checkClientCertCa,
  checkTlsOptions,
  connectTls,
  DEFAULT_TLS_MIN_VERSION,
  describeTlsClientError,
  describeTlsClosedAfterHandshake,
  describeTlsServerError,
  hardenTlsServerSocket,
  TLS_ADMISSION_WAIT_MS,
  tlsServerOptions,
} from "../../src/transport/tls.js";

import { until, within } from "../helpers.js";
import { makeTestPki } from "../support/certs.js";

const err = (code: string | undefined, message = "boom") => Object.assign(new Error(message), { code });

/** What awaitTlsAdmission and hardenTlsServerSocket use of a TLS socket. */
class FakeTls extends EventEmitter {
  destroyed = false;
  renegotiation = true;
  constructor(readonly protocol: string) {
    super();
  }
  getProtocol() {
    return this.protocol;
  }
  destroy() {
    this.destroyed = true;
  }
  disableRenegotiation() {
    this.renegotiation = false;
  }
}
const asTls = (s: FakeTls) => s as unknown as TLSSocket;

describe("tls (pinned)", { timeout: 20_000 }, () => {
  const pki = makeTestPki();
  after(() => pki.dispose());

  it("options: known keys only, with a hint for a misspelt mutual TLS; mutual TLS needs a CA", () => {
    checkTlsOptions(
      { cert: "c", key: "k", ca: "a", requireClientCert: true, serverName: "s", minVersion: "TLSv1.3" },
      "x",
    );
    const known = "known: cert, key, ca, requireClientCert, serverName, minVersion";
    assert.throws(
      () => checkTlsOptions({ requestClientCert: true }, "grpc server"),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message ===
          `grpc server: unknown tls option "requestClientCert"; mutual TLS is "requireClientCert"; ${known}`,
    );
    assert.throws(
      () => checkTlsOptions({ clientcert: 1 }, "w"),
      /unknown tls option "clientcert"; mutual TLS is "requireClientCert"/,
    );
    assert.throws(
      () => checkTlsOptions({ passphrase: "p" }, "w"),
      (e: unknown) => e instanceof TypeError && e.message === `w: unknown tls option "passphrase"; ${known}`,
    );
    assert.throws(
      () => checkClientCertCa({ requireClientCert: true }, "tcp transport"),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message ===
          "tcp transport: tls.requireClientCert needs tls.ca, the CA that signs client certificates",
    );
    checkClientCertCa({ requireClientCert: true, ca: "a" }, "w");
    checkClientCertCa({ requireClientCert: false }, "w");
  });

  it("server options: cert and key required; client certificates demanded only for mutual TLS; TLS 1.2 at least by default", () => {
    assert.equal(DEFAULT_TLS_MIN_VERSION, "TLSv1.2");
    for (const partial of [{ cert: "c" }, { key: "k" }, {}]) {
      assert.throws(
        () => tlsServerOptions(partial, 1),
        (e: unknown) =>
          e instanceof TypeError &&
          e.message === "tcp transport: tls.cert and tls.key are required to listen with TLS",
      );
    }
    assert.throws(
      () => tlsServerOptions({ cert: "c", key: "k", requireClientCert: true }, 1),
      /needs tls\.ca/,
    );
    assert.deepEqual(tlsServerOptions({ cert: "c", key: "k" }, 1500), {
      cert: "c",
      key: "k",
      ca: undefined,
      requestCert: false,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
      handshakeTimeout: 1500,
    });
    assert.deepEqual(
      tlsServerOptions({ cert: "c", key: "k", ca: "a", requireClientCert: true, minVersion: "TLSv1.3" }, 9),
      {
        cert: "c",
        key: "k",
        ca: "a",
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.3",
        handshakeTimeout: 9,
      },
    );
  });

  it("renegotiation is disabled, and an attempt ends the connection; other errors are left to their owner", () => {
    const s = new FakeTls("TLSv1.2");
    hardenTlsServerSocket(asTls(s));
    assert.equal(s.renegotiation, false);
    s.emit("error", err("ECONNRESET"));
    assert.equal(s.destroyed, false);
    s.emit("error", err("ERR_TLS_RENEGOTIATION_DISABLED"));
    assert.equal(s.destroyed, true);
  });

  it("admission: at once below TLS 1.3; in 1.3 a session ticket admits, a close refuses, the wait is bounded", async () => {
    assert.equal(TLS_ADMISSION_WAIT_MS, 2000);
    assert.equal(
      await within(awaitTlsAdmission(asTls(new FakeTls("TLSv1.2")), 5000), 1000, "no wait below TLS 1.3"),
      "admitted",
    );

    const ticket = new FakeTls("TLSv1.3");
    const admitted = awaitTlsAdmission(asTls(ticket), 60_000);
    ticket.emit("session");
    assert.equal(await admitted, "admitted");
    assert.equal(
      ticket.listenerCount("close") + ticket.listenerCount("error") + ticket.listenerCount("session"),
      0,
    );

    const refused = new FakeTls("TLSv1.3");
    const closed = awaitTlsAdmission(asTls(refused), 60_000);
    refused.destroyed = true;
    refused.emit("close");
    assert.equal(await closed, "closed");
    assert.equal(refused.listenerCount("session") + refused.listenerCount("error"), 0, "no listener left");

    const alert = new FakeTls("TLSv1.3");
    const alerted = awaitTlsAdmission(asTls(alert), 60_000);
    alert.destroyed = true;
    alert.emit("error", err("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"));
    assert.equal(await alerted, "closed");

    mock.timers.enable({ apis: ["setTimeout", "setImmediate"] });
    try {
      const silent = new FakeTls("TLSv1.3");
      let outcome: string | undefined;
      void awaitTlsAdmission(asTls(silent), 300).then((o) => {
        outcome = o;
      });
      mock.timers.tick(299);
      await Promise.resolve();
      assert.equal(outcome, undefined);
      mock.timers.tick(1);
      mock.timers.runAll();
      await new Promise((r) => process.nextTick(r));
      await Promise.resolve();
      assert.equal(outcome, "admitted", "no ticket and no close within the wait: admitted");
      const late = new FakeTls("TLSv1.3");
      let lateOutcome: string | undefined;
      void awaitTlsAdmission(asTls(late), -50).then((o) => {
        lateOutcome = o;
      });
      mock.timers.tick(0);
      mock.timers.runAll();
      await new Promise((r) => process.nextTick(r));
      await Promise.resolve();
      assert.equal(lateOutcome, "admitted", "a wait already used up does not wait");
    } finally {
      mock.timers.reset();
    }
  });

  it("dialling an IP sends no SNI name (no DEP0123 warning), a host name is sent as the name", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? w.name);
    process.on("warning", onWarning);
    const seen: (string | false | null)[] = [];
    const server = createTlsServer({ cert: pki.server.cert, key: pki.server.key }, (s) => s.end());
    server.on("tlsClientError", () => {});
    server.on("secureConnection", (s) => seen.push(s.servername));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    try {
      for (const [i, [host, o]] of (
        [
          ["127.0.0.1", { ca: pki.ca }],
          ["localhost", { ca: pki.ca }],
          ["127.0.0.1", { ca: pki.ca, serverName: "localhost" }],
        ] as const
      ).entries()) {
        const socket = connectTls(host, port, o);
        await new Promise<void>((resolve, reject) => {
          socket.once("secureConnect", () => resolve());
          socket.once("error", reject);
        });
        await until(() => seen.length === i + 1, `the server's side of handshake ${i + 1}`);
        socket.destroy();
      }
      await until(() => seen.length === 3, "three handshakes");
      assert.deepEqual(seen, [false, "localhost", "localhost"]);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.filter((w) => w === "DEP0123"),
        [],
      );
    } finally {
      process.off("warning", onWarning);
      server.close();
    }
  });

  it("the client's sentence for each failure, with the code and OpenSSL's reason", () => {
    const a = "10.0.0.1:443";
    const openssl =
      "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889:";
    for (const [code, want] of [
      [
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        `tls: wrong CA: the certificate of ${a} is not signed by a CA this client trusts`,
      ],
      ["UNABLE_TO_GET_ISSUER_CERT", "tls: wrong CA:"],
      ["UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "tls: wrong CA:"],
      ["SELF_SIGNED_CERT_IN_CHAIN", "tls: wrong CA:"],
      ["DEPTH_ZERO_SELF_SIGNED_CERT", "tls: wrong CA:"],
      ["CERT_SIGNATURE_FAILURE", "tls: wrong CA:"],
      ["CERT_UNTRUSTED", "tls: wrong CA:"],
      ["CERT_REJECTED", "tls: wrong CA:"],
      ["CERT_HAS_EXPIRED", `tls: expired certificate: the certificate of ${a} has expired`],
      ["CERT_NOT_YET_VALID", `tls: certificate not yet valid: the certificate of ${a} is not valid yet`],
      [
        "ERR_TLS_CERT_ALTNAME_INVALID",
        `tls: name mismatch: the certificate of ${a} is not valid for the name dialled`,
      ],
      [
        "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
        `tls: missing client certificate: ${a} requires one (mutual TLS) and this client sent none`,
      ],
      [
        "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
        `tls: handshake refused by ${a}: most often a missing client certificate (mutual TLS)`,
      ],
      [
        "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
        `tls: client certificate rejected: ${a} does not accept this client's certificate`,
      ],
      ["ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "tls: client certificate rejected:"],
      ["ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED", "tls: client certificate rejected:"],
      ["ERR_SSL_WRONG_VERSION_NUMBER", `tls: ${a} does not speak TLS (a plaintext server?)`],
      ["ERR_SSL_PACKET_LENGTH_TOO_LONG", `tls: ${a} does not speak TLS`],
      ["ERR_SSL_SOMETHING_NEW", `tls: handshake with ${a} failed`],
      ["ERR_TLS_SOMETHING", `tls: handshake with ${a} failed`],
      ["CERT_SOMETHING", `tls: handshake with ${a} failed`],
    ] as const) {
      const got = describeTlsClientError(err(code, openssl), a);
      assert.ok(got?.startsWith(want), `${code}: ${got}`);
      assert.ok(got!.endsWith(` (${code}: certificate verify failed)`), `${code}: ${got}`);
    }
    assert.equal(
      describeTlsClientError(
        err("ECONNRESET", "Client network socket disconnected before secure TLS connection was established"),
        a,
      ),
      `tls: ${a} closed the connection during the TLS handshake (a plaintext server, or one refusing this client) (ECONNRESET: Client network socket disconnected before secure TLS connection was established)`,
    );
    assert.equal(describeTlsClientError(err("ECONNRESET", "read ECONNRESET"), a), undefined);
    assert.equal(describeTlsClientError(err("ECONNREFUSED"), a), undefined);
    assert.equal(describeTlsClientError(err(undefined), a), undefined);
    assert.equal(
      describeTlsClientError(
        err("CERT_HAS_EXPIRED", "error:0A000086:SSL routines:fn: certificate has expired :../ssl/x.c:12:"),
        a,
      ),
      `tls: expired certificate: the certificate of ${a} has expired (CERT_HAS_EXPIRED: certificate has expired)`,
      "the reason trimmed",
    );
    assert.equal(
      describeTlsClientError(err("CERT_HAS_EXPIRED", "first line\nsecond line"), a),
      `tls: expired certificate: the certificate of ${a} has expired (CERT_HAS_EXPIRED: first line)`,
    );
  });

  it("after the handshake, a close means a refused certificate, or most often a missing one", () => {
    assert.equal(
      describeTlsClosedAfterHandshake("h:1", true),
      "tls: client certificate rejected: h:1 closed the connection after the handshake, refusing this client's certificate (not signed by a CA it trusts, or expired)",
    );
    assert.equal(
      describeTlsClosedAfterHandshake("h:1", false),
      "tls: h:1 closed the connection after the handshake: most often a missing client certificate (mutual TLS)",
    );
  });

  it("the server's sentence for each failure; the authorization error wins over the socket's code", () => {
    const p = "127.0.0.1:5000";
    for (const [code, message, auth, want] of [
      [
        "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE",
        "m",
        undefined,
        `tls: missing client certificate: ${p} sent none and mutual TLS requires one (ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: m)`,
      ],
      [
        "ECONNRESET",
        "m",
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        `tls: client certificate rejected: ${p} presented a certificate not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE: m)`,
      ],
      [
        "ERR_SSL_CERTIFICATE_VERIFY_FAILED",
        "m",
        undefined,
        `tls: client certificate rejected: ${p} presented a certificate not signed by a trusted CA (ERR_SSL_CERTIFICATE_VERIFY_FAILED: m)`,
      ],
      [
        "X",
        "m",
        new Error("CERT_HAS_EXPIRED"),
        `tls: client certificate rejected: the one from ${p} has expired (CERT_HAS_EXPIRED: m)`,
      ],
      [
        "X",
        "m",
        Object.assign(new Error("certificate has expired"), { code: "CERT_HAS_EXPIRED" }),
        `tls: client certificate rejected: the one from ${p} has expired (CERT_HAS_EXPIRED: m)`,
      ],
      [
        "ERR_SSL_HTTP_REQUEST",
        "m",
        undefined,
        `tls: ${p} is not a TLS client (plaintext?) (ERR_SSL_HTTP_REQUEST: m)`,
      ],
      [
        "ERR_SSL_WRONG_VERSION_NUMBER",
        "m",
        undefined,
        `tls: ${p} is not a TLS client (plaintext?) (ERR_SSL_WRONG_VERSION_NUMBER: m)`,
      ],
      [
        "ERR_TLS_HANDSHAKE_TIMEOUT",
        "m",
        undefined,
        `tls: handshake timeout: ${p} did not complete the TLS handshake in time (ERR_TLS_HANDSHAKE_TIMEOUT: m)`,
      ],
      [
        undefined,
        "TLS handshake Timeout",
        undefined,
        `tls: handshake timeout: ${p} did not complete the TLS handshake in time (no code: TLS handshake Timeout)`,
      ],
      ["ERR_OTHER", "m", undefined, `tls: handshake with ${p} failed (ERR_OTHER: m)`],
    ] as const) {
      assert.equal(describeTlsServerError(err(code, message), p, auth as string | Error | undefined), want);
    }
    assert.equal(
      describeTlsServerError(err("CERT_HAS_EXPIRED", "m"), p),
      `tls: client certificate rejected: the one from ${p} has expired (CERT_HAS_EXPIRED: m)`,
    );
  });
});
