/**
 * RabbitMQ credentials (issue 19), against the running server: this test creates a private
 * vhost and a user allowed only there (rabbitmqctl), and removes both. The user's credentials
 * carry a message through the broker on that vhost; a wrong password and the default vhost
 * (no permission) are refused. Here TLS is checked as configuration (`tls` maps to amqplib's
 * TLS options and is refused on an amqp:// URL); tls-server.test.ts runs it against a TLS node.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { connect } from "amqplib";
import { createRabbitBroker, rabbitSecurityOptions } from "../src/index.js";

const id = randomUUID().slice(0, 8);
const vhost = `tsmicro-sec-${id}`;
const user = `tsmicro-sec-${id}`;
const password = `pw-${randomUUID()}`;
const ctl = (...args: string[]) => execFileSync("rabbitmqctl", args, { stdio: "pipe", timeout: 60_000 });

before(() => {
  ctl("add_vhost", vhost);
  ctl("add_user", user, password);
  ctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*");
});
after(() => {
  ctl("delete_user", user);
  ctl("delete_vhost", vhost);
});

const url = `amqp://127.0.0.1:5672/${encodeURIComponent(vhost)}`;

async function tryConnect(u: string, username: string, pass: string): Promise<void> {
  const c = await connect(u, {
    ...rabbitSecurityOptions(u, { credentials: { username, password: pass } }),
    timeout: 5000,
  });
  await c.close();
}

describe("security: RabbitMQ user on a private vhost", () => {
  test("the user's credentials carry a message through the broker on its vhost", async () => {
    const broker = createRabbitBroker({ url, credentials: { username: user, password } });
    await broker.connect();
    try {
      let got: (body: string) => void = () => {};
      const received = new Promise<string>((resolve) => {
        got = resolve;
      });
      await broker.subscribe("sec.topic", async (e) => got(Buffer.from(e.message.body).toString()));
      await broker.publish("sec.topic", { headers: {}, body: Buffer.from(JSON.stringify({ n: 1 })) });
      const body = await Promise.race([
        received,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error("no message within 10 s")), 10_000),
        ),
      ]);
      assert.deepEqual(JSON.parse(body), { n: 1 });
    } finally {
      await broker.disconnect();
    }
  });

  test("a wrong password, and the default vhost the user has no permission on: refused", async () => {
    await assert.rejects(tryConnect(url, user, "wrong"), /ACCESS_REFUSED|403/);
    await assert.rejects(
      tryConnect("amqp://127.0.0.1:5672/", user, password),
      /ConnectionClose|NOT_ALLOWED|530/,
    );
    await tryConnect(url, user, password);
  });
});

describe("security: RabbitMQ TLS options (configuration)", () => {
  test("tls on an amqp:// URL is a TypeError; on amqps:// it sets the CA, client certificate and name checked", () => {
    assert.throws(() => createRabbitBroker({ url, tls: { ca: "x" } }), /tls needs an amqps:\/\/ URL/);
    const o = rabbitSecurityOptions("amqps://h:5671/v", {
      tls: { ca: "CA", cert: "C", key: "K", serverName: "mq" },
    });
    assert.deepEqual(o, { ca: ["CA"], cert: "C", key: "K", servername: "mq", rejectUnauthorized: true });
  });
});
