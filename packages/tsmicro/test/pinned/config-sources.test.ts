/**
 * Pinned behaviours of the built-in config sources (config/sources.ts): defaults handed out as
 * copies; a file's format by extension, an optional missing file, each refusal's text (unreadable,
 * not valid JSON or YAML, a top level that is not a mapping), an empty file; environment
 * variables by prefix and separator; flags in each of their forms.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { defaultsSource, envSource, fileSource, flagSource } from "../../src/config/sources.js";
import { MicroError } from "../../src/errors.js";

const refusal = async (p: Promise<unknown>): Promise<MicroError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof MicroError, `expected a MicroError, got ${String(e)}`);
  return e;
};

describe("config sources (pinned)", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tsmicro-config-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("defaults: named, and each load is a copy the caller may change", async () => {
    const values = { a: { b: 1 } };
    const s = defaultsSource(values);
    assert.equal(s.name, "defaults");
    const got = await s.load();
    (got.a as { b: number }).b = 2;
    assert.deepEqual(values, { a: { b: 1 } });
    assert.deepEqual(await s.load(), { a: { b: 1 } });
  });

  it("a file's format comes from its extension (.yaml, .yml in any case); the rest is JSON", async () => {
    const yamlText = "a: 1\n";
    const calls: string[] = [];
    const load = async (spec: string) => {
      calls.push(spec);
      return { parse: (t: string) => ({ parsed: t }) };
    };
    for (const name of ["c.yaml", "c.YML", "c.Yaml"]) {
      const p = join(dir, name);
      await writeFile(p, yamlText);
      assert.deepEqual(await fileSource(p, { load }).load(), { parsed: yamlText }, name);
    }
    assert.deepEqual(calls, ["yaml", "yaml", "yaml"]);
    const json = join(dir, "c.conf");
    await writeFile(json, '{"a": 1}');
    assert.deepEqual(await fileSource(json, { load }).load(), { a: 1 });
    assert.equal(calls.length, 3, "JSON needs no parser package");
    await writeFile(join(dir, "forced"), yamlText);
    assert.deepEqual(await fileSource(join(dir, "forced"), { format: "yaml", load }).load(), {
      parsed: yamlText,
    });
    assert.equal(fileSource(json).name, `file ${json}`);
  });

  it("a missing file: {} when optional, else a non-retryable 400 naming the file", async () => {
    const p = join(dir, "missing.json");
    assert.deepEqual(await fileSource(p, { optional: true }).load(), {});
    const e = await refusal(fileSource(p).load());
    assert.equal(e.id, "tsmicro.config");
    assert.equal(e.code, 400);
    assert.equal(e.retryable, false);
    assert.match(
      e.detail,
      new RegExp(`^config file ${p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: cannot read it: ENOENT`),
    );
    // Optional covers a missing file only: a directory is still an error.
    const d = await refusal(fileSource(dir, { optional: true }).load());
    assert.match(d.detail, /cannot read it: EISDIR/);
  });

  it("text that does not parse is a non-retryable 400 saying which format", async () => {
    const p = join(dir, "bad.json");
    await writeFile(p, "{nope");
    const e = await refusal(fileSource(p).load());
    assert.equal(e.id, "tsmicro.config");
    assert.equal(e.code, 400);
    assert.equal(e.retryable, false);
    assert.match(e.detail, /^config file .*bad\.json: not valid JSON: /);
    const y = join(dir, "bad.yaml");
    await writeFile(y, "x");
    const ye = await refusal(
      fileSource(y, {
        load: async () => ({
          parse: () => {
            throw new Error("bad indentation");
          },
        }),
      }).load(),
    );
    assert.match(ye.detail, /: not valid YAML: bad indentation$/);
  });

  it("a YAML parser that cannot be loaded is its own error, passed on as it is", async () => {
    const y = join(dir, "noparser.yaml");
    await writeFile(y, "a: 1");
    const e = await refusal(fileSource(y, { load: async () => ({}) }).load());
    assert.equal(e.id, "tsmicro");
    assert.match(e.detail, /yaml does not export parse\(\)/);
  });

  it("an empty document is {}; a top level that is a list or a scalar is refused, saying what it was", async () => {
    const p = join(dir, "top.json");
    await writeFile(p, "null");
    assert.deepEqual(await fileSource(p).load(), {});
    await writeFile(p, "[1]");
    assert.match(
      (await refusal(fileSource(p).load())).detail,
      /the top level must be a mapping of keys, got a list$/,
    );
    await writeFile(p, "3");
    const e = await refusal(fileSource(p).load());
    assert.match(e.detail, /got number$/);
    assert.equal(e.id, "tsmicro.config");
    assert.equal(e.retryable, false);
    const y = join(dir, "empty.yaml");
    await writeFile(y, "");
    assert.deepEqual(await fileSource(y, { load: async () => ({ parse: () => undefined }) }).load(), {});
  });

  it("env: only the prefix's variables (not the bare prefix), levels on __, camelCased, values parsed", async () => {
    const env = {
      APP_CLIENT__REQUEST_TIMEOUT_MS: "500",
      APP_DEBUG: "true",
      APP_: "ignored",
      OTHER_X: "1",
      APP_NAME: "svc",
      APP_UNSET: undefined,
    };
    const s = envSource({ prefix: "APP_", env });
    assert.equal(s.name, "env (APP_*)");
    assert.deepEqual(await s.load(), { client: { requestTimeoutMs: 500 }, debug: true, name: "svc" });
    assert.deepEqual(await envSource({ prefix: "APP_", separator: "-", env: { "APP_A-B": "x" } }).load(), {
      a: { b: "x" },
    });
    process.env.TSMICRO_PINNED_ENV_X = "7";
    try {
      assert.deepEqual(
        await envSource({ prefix: "TSMICRO_PINNED_ENV_" }).load(),
        { x: 7 },
        "process.env by default",
      );
    } finally {
      delete process.env.TSMICRO_PINNED_ENV_X;
    }
  });

  it("flags: --k=v, --k v, --flag, --no-flag; levels on dots, camelCased; other arguments left alone", async () => {
    const s = flagSource({
      argv: [
        "serve",
        "--client.retries=3",
        "--client.request-timeout-ms",
        "500",
        "--debug",
        "--no-color",
        "--",
        "--x.y",
        "--z",
      ],
    });
    assert.equal(s.name, "flags");
    assert.deepEqual(await s.load(), {
      client: { retries: 3, requestTimeoutMs: 500 },
      debug: true,
      color: false,
      x: { y: true },
      z: true,
    });
    assert.deepEqual(
      await flagSource({ argv: ["--name=a=b"] }).load(),
      { name: "a=b" },
      "the first = splits",
    );
    assert.deepEqual(
      await flagSource({ argv: ["--no-color=yes"] }).load(),
      { noColor: "yes" },
      "--no- with a value is a key",
    );
    const saved = process.argv;
    process.argv = ["node", "script", "--from-argv=1"];
    try {
      assert.deepEqual(await flagSource().load(), { fromArgv: 1 });
    } finally {
      process.argv = saved;
    }
  });
});
