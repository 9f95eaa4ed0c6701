import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { z } from "zod";
import { defaultsSource, envSource, fileSource, flagSource, loadConfig, MicroError } from "../src/index.js";
import type { ConfigSource, ConfigValues } from "../src/plugin.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const Schema = z.object({
  name: z.string(),
  client: z.object({ retries: z.number().int().min(0).max(10), requestTimeoutMs: z.number().positive() }),
  features: z.array(z.string()).default([]),
  debug: z.boolean().default(false),
});

/** A source the test changes by hand (the etcd and NATS sources are tested against real servers in their packages). */
function handSource(name: string, initial: ConfigValues) {
  let values = initial;
  const pending: ConfigValues[] = [];
  let wake: (() => void) | undefined;
  const source: ConfigSource = {
    name,
    load: async () => values,
    async *watch(signal) {
      signal.addEventListener("abort", () => wake?.(), { once: true });
      while (!signal.aborted) {
        if (pending.length > 0) {
          yield pending.shift()!;
          continue;
        }
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    },
  };
  return {
    source,
    set(v: ConfigValues) {
      values = v;
      pending.push(v);
      wake?.();
    },
  };
}

describe("loadConfig", () => {
  it("merges defaults, JSON and YAML files, env and flags in that order, typed by the schema", async () => {
    writeFileSync(join(dir, "a.json"), JSON.stringify({ name: "from-json", client: { retries: 2 } }));
    writeFileSync(join(dir, "b.yaml"), "client:\n  requestTimeoutMs: 750\nfeatures:\n  - a\n  - b\n");
    const config = await loadConfig({
      schema: Schema,
      sources: [
        defaultsSource({ name: "defaults", client: { retries: 1, requestTimeoutMs: 5000 } }),
        fileSource(join(dir, "a.json")),
        fileSource(join(dir, "b.yaml")),
        envSource({ prefix: "TSMT_", env: { TSMT_CLIENT__RETRIES: "4", TSMT_NAME: "from-env", OTHER: "x" } }),
        flagSource({ argv: ["serve", "--name=from-flag", "--debug", "--client.request-timeout-ms", "900"] }),
      ],
    });
    const c = config.get();
    assert.deepEqual(c, {
      name: "from-flag",
      client: { retries: 4, requestTimeoutMs: 900 },
      features: ["a", "b"],
      debug: true,
    });
    const typed: number = c.client.retries; // typed by the schema: a compile error otherwise
    assert.equal(typed, 4);
    assert.ok(Object.isFrozen(c.client), "the snapshot is frozen");
    await config.close();
  });

  it("refuses a bad value naming the key, its source and the rule", async () => {
    const err = await loadConfig({
      schema: Schema,
      sources: [
        defaultsSource({ name: "x", client: { retries: 1, requestTimeoutMs: 5000 } }),
        envSource({ prefix: "TSMT_", env: { TSMT_CLIENT__RETRIES: "99" } }),
      ],
    }).then(
      () => assert.fail("loaded"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MicroError && err.code === 400);
    assert.match(err.detail, /key "client\.retries" from env \(TSMT_\*\) \(value 99\) breaks the rule: .*10/);
    const missing = await loadConfig({
      schema: Schema,
      sources: [defaultsSource({ client: { retries: 1, requestTimeoutMs: 1 } })],
    }).catch((e: MicroError) => e);
    assert.match((missing as MicroError).detail, /key "name" from no source \(missing\)/);
  });

  it("a YAML or JSON file that does not parse is an error naming the file", async () => {
    writeFileSync(join(dir, "bad.yaml"), "a: [1, 2\n");
    await assert.rejects(
      loadConfig({ schema: Schema, sources: [fileSource(join(dir, "bad.yaml"))] }),
      /file .*bad\.yaml: not valid YAML/,
    );
    await assert.rejects(
      loadConfig({ schema: Schema, sources: [fileSource(join(dir, "none.json"))] }),
      /none\.json: cannot read it/,
    );
    await assert.rejects(
      loadConfig({
        schema: Schema,
        sources: [
          fileSource(join(dir, "b.yaml"), {
            load: async () =>
              Promise.reject(
                Object.assign(new Error("Cannot find package 'yaml'"), { code: "ERR_MODULE_NOT_FOUND" }),
              ),
          }),
        ],
      }),
      /needs the package yaml.*npm install yaml/,
    );
  });

  it("watch yields typed changes; a bad change is refused and the previous good config stays", async () => {
    const remote = handSource("remote", { client: { retries: 1 } });
    const errors: MicroError[] = [];
    const config = await loadConfig({
      schema: Schema,
      sources: [
        defaultsSource({ name: "svc", client: { retries: 0, requestTimeoutMs: 1000 } }),
        remote.source,
      ],
      onError: (e) => errors.push(e),
    });
    assert.equal(config.get().client.retries, 1);
    const changes = config.watch()[Symbol.asyncIterator]();
    remote.set({ client: { retries: 3 } });
    const first = await changes.next();
    assert.equal(first.value.current.client.retries, 3);
    assert.equal(first.value.previous.client.retries, 1);
    assert.deepEqual(first.value.changed, ["client.retries"]);
    assert.equal(first.value.source, "remote");
    remote.set({ client: { retries: "many" } });
    remote.set({ client: { retries: 5 } });
    const second = await changes.next();
    assert.equal(
      second.value.current.client.retries,
      5,
      "the bad change was skipped, the next good one applied",
    );
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.detail, /key "client\.retries" from remote \(value "many"\) breaks the rule/);
    remote.set({ client: { retries: -1 } });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(config.get().client.retries, 5, "the previous good config stays in force");
    assert.match(config.lastError!.detail, /client\.retries/);
    await config.close();
    assert.equal((await changes.next()).done, true, "close ends the watch");
  });
});
