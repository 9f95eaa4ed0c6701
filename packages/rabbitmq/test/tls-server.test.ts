/**
 * RabbitMQ TLS with server identity (issue 19), against a private RabbitMQ node this test
 * starts (test/private-rabbitmq.ts): TLS only, no plaintext listener, client certificates
 * required. With the CA and a client certificate a message goes through the broker; without
 * the CA (the node's certificate is from a private, self-signed CA), without a client
 * certificate, and in plaintext, connect() fails with a 503 MicroError saying why.
 *
 * Before and after (2026-12-01, this file against link.ts and broker.ts of 9caacd2's parent):
 * the CA test passed; the other three failed, each after 10 s, with "connect() failed with a
 * TimeoutError: The operation was aborted due to timeout, not a MicroError" (a refused
 * certificate was retried until the wait ran out, and the reason was lost). After: 4 of 4 pass,
 * the certificate failures in under 0.1 s.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Broker } from "tsmicro";
import { MicroError } from "tsmicro";
import { makeTestPki, type TestPki } from "../../tsmicro/test/support/certs.js";
import { createRabbitBroker, type RabbitBrokerOptions } from "../src/index.js";
import { type PrivateRabbit, startPrivateRabbit } from "./private-rabbitmq.js";

let pki: TestPki;
let rabbit: PrivateRabbit;
const id = randomUUID().slice(0, 8);

before(
  async () => {
    pki = makeTestPki();
    rabbit = await startPrivateRabbit({ server: pki.server, clientCa: pki.ca, requireClientCert: true });
  },
  { timeout: 180_000 },
);
after(async () => {
  await rabbit?.stop();
  pki?.dispose();
});

const tlsUrl = () => `amqps://guest:guest@127.0.0.1:${rabbit.port}`;

/** connect()'s error; the broker is disconnected so its recovery stops retrying. */
async function connectError(options: RabbitBrokerOptions): Promise<MicroError> {
  const broker = createRabbitBroker(options);
  try {
    await broker.connect();
  } catch (err) {
    assert.ok(err instanceof MicroError, `connect() failed with a ${String(err)}, not a MicroError`);
    return err;
  } finally {
    await broker.disconnect();
  }
  assert.fail(`connect() to ${options.url} succeeded`);
}

describe("security: RabbitMQ over TLS against a private node that requires it", () => {
  test("with the CA and a client certificate, a message goes through the broker", async () => {
    const broker: Broker = createRabbitBroker({
      url: tlsUrl(),
      tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
      exchange: `tsmicro-tls-${id}`,
    });
    await broker.connect();
    try {
      let got: (body: string) => void = () => {};
      const received = new Promise<string>((resolve) => {
        got = resolve;
      });
      await broker.subscribe(`tls.${id}`, async (e) => got(Buffer.from(e.message.body).toString()));
      await broker.publish(`tls.${id}`, { headers: {}, body: Buffer.from('{"n":1}') });
      let timer: NodeJS.Timeout | undefined;
      const body = await Promise.race([
        received,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("no message over TLS within 10 s")), 10_000);
        }),
      ]).finally(() => clearTimeout(timer));
      assert.deepEqual(JSON.parse(body), { n: 1 });
    } finally {
      await broker.disconnect();
    }
  });

  test("without the CA, the node's certificate is not trusted: a 503 naming the wrong CA, at once", async () => {
    const err = await connectError({
      url: tlsUrl(),
      tls: { cert: pki.client.cert, key: pki.client.key },
    });
    assert.equal(err.code, 503);
    assert.match(err.detail, new RegExp(`tls: wrong CA: the certificate of 127\\.0\\.0\\.1:${rabbit.port}`));
    // Refused on the first failure, not retried until connect()'s 10 s wait runs out.
    assert.doesNotMatch(err.detail, /not connected within/);
    assert.equal(err.retryable, false);
  });

  test("without a client certificate: refused with a 503", async () => {
    const err = await connectError({ url: tlsUrl(), tls: { ca: pki.ca } });
    assert.equal(err.code, 503);
    assert.match(err.detail, /tls: missing client certificate: 127\.0\.0\.1:\d+ requires one \(mutual TLS\)/);
    assert.equal(err.retryable, false);
  });

  test("plaintext AMQP to the node is refused (it has no plaintext listener)", async () => {
    const err = await connectError({ url: `amqp://guest:guest@127.0.0.1:${rabbit.port}` });
    assert.equal(err.code, 503);
    // The node's TLS listener drops the AMQP header (a FIN or, as often, a RST); amqplib
    // retries, and connect() names the last attempt's failure.
    assert.match(
      err.detail,
      /not connected within 10000 ms; the last attempt failed: (Socket closed abruptly during opening handshake|read ECONNRESET)$/,
    );
    assert.doesNotMatch(err.detail, /guest:guest/);
  });
});
