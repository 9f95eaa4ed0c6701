/** The CLI on a real etcd registry, chosen by flags as a service chooses it by environment. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type EtcdServer, startEtcd } from "@tsmicro/etcd/testing";
import { type Demo, startDemo, tsmicro } from "./helpers.js";

let etcd: EtcdServer;
let demo: Demo;

before(async () => {
  etcd = await startEtcd();
  demo = await startDemo("demo-etcd", { MICRO_REGISTRY: "etcd", MICRO_REGISTRY_ADDRESS: etcd.endpoint });
});
after(async () => {
  await demo?.stop();
  await etcd?.stop();
});

test("--registry etcd --registry-address finds and calls a service registered in etcd", async () => {
  // Flags only: the environment says nothing about etcd.
  const env = { ...process.env, MICRO_REGISTRY: "", MICRO_REGISTRY_ADDRESS: "" };
  const flags = ["--registry", "etcd", "--registry-address", etcd.endpoint];
  const list = await tsmicro(["services", ...flags], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^demo-etcd\s+1\.2\.3\s+1\s+\d+$/m);
  const call = await tsmicro(["call", "demo-etcd", "Greeter.hello", '{"name":"etcd"}', ...flags], env);
  assert.equal(call.code, 0, call.stderr);
  assert.deepEqual(JSON.parse(call.stdout), { message: "Hello etcd" });
  const health = await tsmicro(["health", "demo-etcd", ...flags], env);
  assert.equal(health.code, 0, health.stderr);
  // Negative control: the default (local) registry does not have it.
  const local = await tsmicro(["describe", "demo-etcd"], { ...env, MICRO_REGISTRY_ADDRESS: demo.dir });
  assert.equal(local.code, 1);
});
