import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, it } from "node:test";
import { Etcd3 } from "etcd3";
import { defaultsSource, loadConfig, type MicroError } from "tsmicro";
import { waitFor } from "tsmicro/testing";
import { z } from "zod";
import { etcdConfigSource } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";

const etcd = await startEtcd();
const raw = new Etcd3({ hosts: `http://${etcd.endpoint}` });
after(async () => {
  raw.close();
  await etcd.stop();
});

const Schema = z.object({
  client: z.object({ retries: z.number().int().min(0).max(10), requestTimeoutMs: z.number().positive() }),
  name: z.string(),
});

it("etcd config source: loads keys under a prefix over the defaults, watches changes, refuses a bad one", {
  timeout: 30_000,
}, async () => {
  const prefix = `/tsmicro-test/${randomUUID().slice(0, 8)}/config/`;
  await raw.put(`${prefix}client/retries`).value("2");
  await raw.put(`${prefix}name`).value("billing");
  const errors: MicroError[] = [];
  const config = await loadConfig({
    schema: Schema,
    sources: [
      defaultsSource({ client: { retries: 0, requestTimeoutMs: 1000 } }),
      etcdConfigSource({ endpoints: etcd.endpoint, prefix }),
    ],
    onError: (e) => errors.push(e),
  });
  try {
    assert.deepEqual(config.get(), { client: { retries: 2, requestTimeoutMs: 1000 }, name: "billing" });
    const changes = config.watch()[Symbol.asyncIterator]();
    await raw.put(`${prefix}client/requestTimeoutMs`).value("250");
    const c = await changes.next();
    assert.equal(c.value.current.client.requestTimeoutMs, 250);
    assert.deepEqual(c.value.changed, ["client.requestTimeoutMs"]);
    assert.equal(c.value.source, `etcd ${prefix}`);
    await raw.put(`${prefix}client/retries`).value("eleven");
    await waitFor("the bad value to be refused", 10_000, async () => (errors.length > 0 ? true : undefined));
    assert.match(
      errors[0]!.detail,
      new RegExp(`key "client\\.retries" from etcd ${prefix} \\(value "eleven"\\) breaks the rule`),
    );
    assert.equal(config.get().client.retries, 2, "the previous good config stays");
    await raw.put(`${prefix}client/retries`).value("5");
    const d = await changes.next();
    assert.equal(d.value.current.client.retries, 5);
  } finally {
    await config.close();
  }
});
