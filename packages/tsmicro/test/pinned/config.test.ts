/**
 * Pinned behaviours of loadConfig (config/config.ts) with in-memory sources: the layers' order,
 * the error that names each bad key, the source that set it (or its parent) and its value, an
 * asynchronous schema, a deeply frozen result, watched changes (what changed and from where,
 * nothing for a change that changes nothing, a refused change that leaves the last good layer
 * in force), a watch that fails, and watchers that end with their signal or close().
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it, mock } from "node:test";
import { type ConfigChange, loadConfig } from "../../src/config/config.js";
import type { ConfigSource, ConfigValues } from "../../src/config/source.js";
import type { StandardSchemaV1 } from "../../src/contract/standard-schema.js";
import { MicroError } from "../../src/errors.js";
import { within } from "../helpers.js";

type Cfg = { port: number; name?: string; db?: { pool: number } };

/** A schema that wants `port` a number below 10,000 and `db.pool` (when present) above 0; async when asked. */
function schema(async = false): StandardSchemaV1<unknown, Cfg> {
  const check = (v: unknown) => {
    const c = v as Cfg;
    const issues: StandardSchemaV1.Issue[] = [];
    if (typeof c.port !== "number" || c.port >= 10_000)
      issues.push({ message: "port below 10000", path: ["port"] });
    if (c.db !== undefined && !(((c.db as { pool?: number } | null)?.pool ?? 0) > 0))
      issues.push({ message: "pool above 0", path: ["db", { key: "pool" }] });
    if ((c as { broken?: boolean }).broken) issues.push({ message: "no broken config" });
    return issues.length > 0 ? { issues } : { value: c };
  };
  return {
    "~standard": {
      version: 1,
      vendor: "pinned",
      validate: (v) => (async ? Promise.resolve(check(v)) : check(v)),
    },
  };
}

/** What a pushed source's watch throws instead of yielding. */
class Fail {
  constructor(readonly value: unknown) {}
}

/** A source whose snapshots the test pushes; its watch ends (or fails) when told. */
function pushed(name: string, initial: ConfigValues) {
  const queue: (ConfigValues | Error | Fail)[] = [];
  let wake: (() => void) | undefined;
  let watching = 0;
  const source: ConfigSource = {
    name,
    load: async () => initial,
    async *watch(signal) {
      watching++;
      while (!signal.aborted) {
        const next = queue.shift();
        if (next instanceof Error) throw next;
        if (next instanceof Fail) throw next.value;
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((r) => {
          wake = r;
          signal.addEventListener("abort", () => r(), { once: true });
        });
      }
    },
  };
  return {
    source,
    push: (v: ConfigValues | Error | Fail) => {
      queue.push(v);
      wake?.();
    },
    watching: () => watching,
  };
}

const still = (s: { source: ConfigSource }) => s.source;
const settle = () => new Promise((r) => setTimeout(r, 20));

async function refusal(p: Promise<unknown>): Promise<MicroError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof MicroError, `a MicroError, got ${String(e)}`);
  return e;
}

describe("loadConfig (pinned)", { timeout: 20_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "tsmicro-config-pin-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("layers: defaults, files, env, flags, then the sources; later wins; frozen all the way down", async () => {
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ port: 2, name: "file", db: { pool: 2 } }));
    const config = await loadConfig({
      schema: schema(),
      defaults: { port: 1, name: "defaults", db: { pool: 1 } },
      files: [{ path: file }],
      env: { prefix: "PIN_", env: { PIN_PORT: "3", PIN_NAME: "env" } },
      flags: { argv: ["--port=4"] },
      sources: [still(pushed("remote", { db: { pool: 9 } }))],
      onError: () => {},
    });
    assert.deepEqual(config.get(), { port: 4, name: "env", db: { pool: 9 } });
    assert.ok(Object.isFrozen(config.get()) && Object.isFrozen(config.get().db));
    assert.equal(config.lastError, undefined);
    await config.close();

    const noFlags = await loadConfig({
      schema: schema(),
      defaults: { port: 5 },
      flags: false,
      files: [file],
    });
    assert.equal(noFlags.get().port, 2, "a file given as a path string");
    await noFlags.close();
  });

  it("a bad config names each key, the source that set it (not one that set a sibling), its value and the rule", async () => {
    const e = await refusal(
      loadConfig({
        schema: schema(),
        defaults: { port: 1, db: { pool: 0 } },
        sources: [
          still(pushed("etcd /app/", { port: 20_000 })),
          still(pushed("nats kv", { db: { size: 3 } })),
        ],
      }),
    );
    assert.equal(e.id, "tsmicro.config");
    assert.equal(e.code, 400);
    assert.equal(e.retryable, false);
    assert.equal(
      e.detail,
      'invalid config: key "port" from etcd /app/ (value 20000) breaks the rule: port below 10000; key "db.pool" from defaults (value 0) breaks the rule: pool above 0',
    );
    const replaced = await refusal(
      loadConfig({
        schema: schema(),
        defaults: { port: 1, db: { pool: 5 } },
        sources: [still(pushed("remote", { db: "none" }))],
      }),
    );
    assert.match(
      replaced.detail,
      /key "db\.pool" from remote breaks the rule/,
      "a parent replaced by a later source",
    );
  });

  it("a parent set to null or a list by a later source is where its leaf came from; flags are read only when asked", async () => {
    for (const replaced of [null, [1]]) {
      const e = await refusal(
        loadConfig({
          schema: schema(),
          defaults: { port: 1, db: { pool: 5 } },
          sources: [still(pushed("remote", { db: replaced as never }))],
        }),
      );
      assert.match(e.detail, /key "db\.pool" from remote/, JSON.stringify(replaced));
    }
    const argv = process.argv;
    process.argv = [...argv, "--port=7"];
    try {
      const c = await loadConfig({ schema: schema(), defaults: { port: 1 } });
      assert.equal(c.get().port, 1, "process.argv is not read without flags");
      await c.close();
      const f = await loadConfig({ schema: schema(), defaults: { port: 1 }, flags: true });
      assert.equal(f.get().port, 7, "flags: true reads process.argv");
      await f.close();
    } finally {
      process.argv = argv;
    }
  });

  it("a missing key is named as missing; a parent set without the leaf names the parent's source; the whole config", async () => {
    const missing = await refusal(loadConfig({ schema: schema(), defaults: { name: "x" } }));
    assert.equal(
      missing.detail,
      'invalid config: key "port" from no source (missing) breaks the rule: port below 10000',
    );
    const parent = await refusal(
      loadConfig({
        schema: schema(),
        defaults: { port: 1 },
        sources: [still(pushed("remote", { db: { size: 1 } }))],
      }),
    );
    assert.equal(parent.detail, 'invalid config: key "db.pool" from remote breaks the rule: pool above 0');
    const whole = await refusal(loadConfig({ schema: schema(true), defaults: { port: 1, broken: true } }));
    assert.equal(
      whole.detail,
      'invalid config: key "(the whole config)" from no source (missing) breaks the rule: no broken config',
    );
  });

  it("watch: each applied change with what changed and from which source; a change that changes nothing is not one", async () => {
    const remote = pushed("remote", { port: 1 });
    const config = await loadConfig({
      schema: schema(true),
      defaults: { name: "a" },
      sources: [remote.source],
    });
    const seen: ConfigChange<Cfg>[] = [];
    const ac = new AbortController();
    const iterator = config.watch({ signal: ac.signal });
    // Pushed before the first next(): still seen.
    remote.push({ port: 2, db: { pool: 1 } });
    const reading = (async () => {
      for await (const c of iterator) seen.push(c);
    })();
    await settle();
    remote.push({ port: 2, db: { pool: 1 } });
    remote.push({ port: 3, db: { pool: 1 } });
    await settle();
    assert.deepEqual(
      seen.map((c) => [c.previous.port, c.current.port, c.changed.sort(), c.source]),
      [
        [1, 2, ["db.pool", "port"], "remote"],
        [2, 3, ["port"], "remote"],
      ],
    );
    assert.equal(config.get().port, 3);
    assert.ok(Object.isFrozen(seen[1]!.current));
    ac.abort();
    await within(reading, 2000, "the watcher to end with its signal");
    remote.push({ port: 4 });
    await settle();
    assert.equal(seen.length, 2, "an ended watcher sees no more");
    assert.equal(config.get().port, 4);
    await config.close();
  });

  it("a refused change is reported, leaves the last good config and layer in force; the next good one clears the error", async () => {
    const a = pushed("a", { port: 1 });
    const b = pushed("b", { name: "b" });
    const errors: MicroError[] = [];
    const config = await loadConfig({
      schema: schema(),
      sources: [a.source, b.source],
      onError: (e) => errors.push(e),
    });
    a.push({ port: 99_999 });
    await settle();
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.detail, /^invalid config: key "port" from a \(value 99999\)/);
    assert.equal(config.lastError, errors[0]);
    assert.equal(config.get().port, 1);
    b.push({ name: "b2" });
    await settle();
    assert.deepEqual(config.get(), { port: 1, name: "b2" }, "b's change merged over a's last good layer");
    assert.equal(config.lastError, undefined);
    await config.close();
  });

  it("a watch that fails is a 503 naming the source; none is reported after close(); the default report is console.error", async () => {
    const s = pushed("flaky", { port: 1 });
    const errors: MicroError[] = [];
    const config = await loadConfig({
      schema: schema(),
      sources: [s.source],
      onError: (e) => errors.push(e),
    });
    s.push(new Error("lease lost"));
    await settle();
    assert.equal(errors.length, 1);
    const odd = pushed("odd", { port: 1 });
    const oddErrors: MicroError[] = [];
    const c3 = await loadConfig({
      schema: schema(),
      sources: [odd.source],
      onError: (e) => oddErrors.push(e),
    });
    odd.push(new Fail(null));
    await settle();
    assert.equal(oddErrors[0]?.detail, "config source odd: watch ended: null");
    await c3.close();
    assert.equal(errors[0]!.code, 503);
    assert.equal(errors[0]!.id, "tsmicro.config");
    assert.equal(errors[0]!.detail, "config source flaky: watch ended: lease lost");
    assert.equal(config.lastError, errors[0]);
    await config.close();

    const t = pushed("quiet", { port: 1 });
    const logged = mock.method(console, "error", () => {});
    try {
      const c2 = await loadConfig({ schema: schema(), sources: [t.source] });
      t.push({ port: 50_000 });
      await settle();
      assert.equal(logged.mock.callCount(), 1);
      assert.match(String(logged.mock.calls[0]!.arguments[0]), /^tsmicro config: invalid config: key "port"/);
      await c2.close();
    } finally {
      logged.mock.restore();
    }
  });

  it("a value with a cycle from the schema is frozen without looping; a watch that throws once closed is not reported", async () => {
    const cyclic: StandardSchemaV1<unknown, { port: number; self?: unknown }> = {
      "~standard": {
        version: 1,
        vendor: "pinned",
        validate: (v) => {
          const out = { ...(v as { port: number }), self: undefined as unknown };
          out.self = out;
          return { value: out };
        },
      },
    };
    const c = await loadConfig({ schema: cyclic, defaults: { port: 1 } });
    assert.equal(c.get().self, c.get(), "the cycle survives the copy");
    assert.ok(Object.isFrozen(c.get()));
    await c.close();

    const errors: MicroError[] = [];
    const throwsOnClose: ConfigSource = {
      name: "throws",
      load: async () => ({ port: 1 }),
      watch: (signal) => ({
        [Symbol.asyncIterator]: () => ({
          next: () =>
            new Promise<IteratorResult<ConfigValues>>((_, reject) =>
              signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }),
            ),
        }),
      }),
    };
    const d = await loadConfig({
      schema: schema(),
      sources: [throwsOnClose],
      onError: (e) => errors.push(e),
    });
    await d.close();
    await settle();
    assert.deepEqual(errors, [], "a watch ended by close() is no failure");
  });

  it("close() waits for a change being applied", async () => {
    const slow: StandardSchemaV1<unknown, Cfg> = {
      "~standard": {
        version: 1,
        vendor: "pinned",
        validate: (v) => new Promise((r) => setTimeout(() => r({ value: v as Cfg }), 30)),
      },
    };
    const s = pushed("src", { port: 1 });
    const config = await loadConfig({ schema: slow, sources: [s.source] });
    s.push({ port: 2 });
    await new Promise((r) => setImmediate(r));
    await config.close();
    assert.equal(config.get().port, 2, "the change in progress was applied before close() resolved");
  });

  it("close() ends every watcher and the sources' watches", async () => {
    const s = pushed("src", { port: 1 });
    const config = await loadConfig({ schema: schema(), sources: [s.source] });
    assert.equal(s.watching(), 1);
    const mine = new AbortController();
    const reading = (async () => {
      const got: number[] = [];
      for await (const c of config.watch({ signal: mine.signal })) got.push(c.current.port);
      return got;
    })();
    s.push({ port: 2 });
    await settle();
    assert.equal(getEventListeners(mine.signal, "abort").length, 1);
    await config.close();
    assert.deepEqual(await within(reading, 2000, "the watcher to end on close()"), [2]);
    assert.equal(
      getEventListeners(mine.signal, "abort").length,
      0,
      "the ended watcher left no listener on its signal",
    );
  });
});
