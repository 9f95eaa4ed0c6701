/**
 * TLS and mutual TLS on the TCP transport, with a CA and certificates made by openssl at test
 * time: a good handshake, and each failure (wrong CA, expired, name mismatch, missing or
 * foreign client certificate) named in the error, while the server keeps serving good clients.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { newClient } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { MicroError } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { type MicroService, newService } from "../src/service/service.js";
import { createTcpTransport } from "../src/transport/tcp.js";
import type { TcpTlsOptions } from "../src/transport/tls.js";
import { makeTestPki, type TestPki } from "./support/certs.js";
import { openRaw, waitUntil } from "./support/raw-peer.js";

class Greeter {
  async hello(_ctx: unknown, req: { name: string }) {
    return { msg: `hello ${req.name}` };
  }
}

let pki: TestPki;
const registry = createMemoryRegistry();
const stops: (() => Promise<void>)[] = [];

before(() => {
  pki = makeTestPki();
});
after(async () => {
  for (const stop of stops.reverse()) await stop();
  pki.dispose();
});

async function serve(tls: TcpTlsOptions, logs: string[] = []): Promise<MicroService> {
  const service = newService({
    name: "greeter",
    registry,
    transport: createTcpTransport({ tls, log: (m) => logs.push(m) }),
  }).handle(new Greeter());
  await service.start();
  stops.push(() => service.stop());
  return service;
}

/** One call from a fresh client with these TLS options (undefined: plaintext). */
async function callWith(address: string, tls: TcpTlsOptions | undefined): Promise<unknown> {
  const client = newClient({
    registry,
    retries: 0,
    transport: createTcpTransport({ tls, log: () => {} }),
  });
  try {
    return await client.call(background(), newRequest("greeter", "Greeter.hello", { name: "tls" }), {
      address,
      requestTimeoutMs: 4000,
    });
  } finally {
    await client.close();
  }
}

async function failure(p: Promise<unknown>): Promise<MicroError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof MicroError, `expected a MicroError, got ${String(err)}`);
    return err;
  }
  assert.fail("the call succeeded but should have failed");
}

describe("tcp transport: TLS", () => {
  test("a good handshake: the client verifies the server against the CA and calls it", async () => {
    const s = await serve({ ...pki.server });
    assert.deepEqual(await callWith(s.address, { ca: pki.ca }), { msg: "hello tls" });
    // Via the name as well as the address: the certificate carries both.
    const port = s.address.split(":")[1];
    assert.deepEqual(await callWith(`localhost:${port}`, { ca: pki.ca }), { msg: "hello tls" });
  });

  test("a plaintext client cannot talk to a TLS server, and a TLS client not to a plaintext one", async () => {
    const logs: string[] = [];
    const s = await serve({ ...pki.server }, logs);
    const e1 = await failure(callWith(s.address, undefined));
    assert.equal(e1.code, 503);
    const plain = newService({ name: "greeter", registry, transport: createTcpTransport() }).handle(
      new Greeter(),
    );
    await plain.start();
    stops.push(() => plain.stop());
    const e2 = await failure(callWith(plain.address, { ca: pki.ca }));
    assert.match(e2.detail, /does not speak TLS|handshake/);
  });

  test("wrong CA: a server certificate from another CA is refused, and the error says so", async () => {
    const s = await serve({ ...pki.otherCaServer });
    const err = await failure(callWith(s.address, { ca: pki.ca }));
    assert.equal(err.code, 503);
    assert.match(err.detail, /tls: wrong CA: the certificate of 127\.0\.0\.1:\d+ is not signed by a CA/);
    assert.match(err.detail, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  test("expired certificate: refused, and the error says it expired", async () => {
    const s = await serve({ ...pki.expiredServer });
    const err = await failure(callWith(s.address, { ca: pki.ca }));
    assert.match(err.detail, /tls: expired certificate: .* has expired \(CERT_HAS_EXPIRED/);
  });

  test("name mismatch: a certificate for another name is refused; serverName makes it match", async () => {
    const s = await serve({ ...pki.wrongNameServer });
    const err = await failure(callWith(s.address, { ca: pki.ca }));
    assert.match(err.detail, /tls: name mismatch: .*ERR_TLS_CERT_ALTNAME_INVALID/);
    // Positive control: the same server, dialled expecting its real name, is accepted.
    assert.deepEqual(await callWith(s.address, { ca: pki.ca, serverName: "other.invalid" }), {
      msg: "hello tls",
    });
  });

  test("mutual TLS: missing or foreign client certificates are refused; good clients keep being served", async () => {
    const logs: string[] = [];
    const s = await serve({ ...pki.server, ca: pki.ca, requireClientCert: true }, logs);
    const good: TcpTlsOptions = { ca: pki.ca, ...pki.client };
    assert.deepEqual(await callWith(s.address, good), { msg: "hello tls" });

    const missing = await failure(callWith(s.address, { ca: pki.ca }));
    assert.match(
      missing.detail,
      /tls: missing client certificate: 127\.0\.0\.1:\d+ requires one \(mutual TLS\).*CERTIFICATE_REQUIRED/,
    );
    assert.deepEqual(await callWith(s.address, good), { msg: "hello tls" });

    const foreign = await failure(callWith(s.address, { ca: pki.ca, ...pki.otherCaClient }));
    assert.match(foreign.detail, /tls: client certificate rejected/);
    assert.deepEqual(await callWith(s.address, good), { msg: "hello tls" });

    // The server named each refusal in its log, once each.
    const joined = logs.join("\n");
    assert.match(joined, /missing client certificate: 127\.0\.0\.1:\d+ sent none/);
    assert.match(joined, /client certificate rejected/);
  });

  test("a peer that opens a TLS port and never starts the handshake is cut off and named in the log", async () => {
    const logs: string[] = [];
    const service = newService({
      name: "greeter",
      registry,
      transport: createTcpTransport({
        tls: { ...pki.server },
        handshakeTimeoutMs: 300,
        log: (m) => logs.push(m),
      }),
    }).handle(new Greeter());
    await service.start();
    stops.push(() => service.stop());
    const silent = await openRaw(service.address);
    const t0 = Date.now();
    await silent.waitClosed(3000, "the TLS server to cut off a silent peer");
    assert.ok(silent.closedAt! - t0 >= 250, `cut off after ${silent.closedAt! - t0} ms, before the timeout`);
    await waitUntil(
      () => logs.some((l) => /tls: handshake timeout/.test(l)),
      2000,
      "the handshake timeout log line",
    );
    assert.deepEqual(await callWith(service.address, { ca: pki.ca }), { msg: "hello tls" });
  });

  test("listening with TLS needs a certificate and key, and mTLS needs a CA", async () => {
    const noCert = newService({
      name: "x",
      registry,
      transport: createTcpTransport({ tls: { ca: pki.ca } }),
    });
    await assert.rejects(noCert.start(), /tls\.cert and tls\.key are required/);
    const noCa = newService({
      name: "x",
      registry,
      transport: createTcpTransport({ tls: { ...pki.server, requireClientCert: true } }),
    });
    await assert.rejects(noCa.start(), /requireClientCert needs tls\.ca/);
  });
});
