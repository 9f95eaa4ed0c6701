// Options are resolved in one place per component; the `@default`s their docs promise are
// checked here against what that place really fills in.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { createMemoryBroker } from "../src/broker/memory.js";
import { CLIENT_DEFAULTS, type ClientOptions, resolveClientOptions } from "../src/client/options.js";
import { defaultCodecs } from "../src/codec/index.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { resolveServiceOptions, SERVICE_DEFAULTS } from "../src/service/service.js";
import { createTcpTransport } from "../src/transport/tcp.js";

/** `name → literal` for each member of `interface name` whose doc says `@default <literal>`. */
function documentedDefaults(file: string, name: string): Map<string, unknown> {
  return parseDefaults(readFileSync(new URL(file, import.meta.url), "utf8"), name);
}

function parseDefaults(src: string, name: string): Map<string, unknown> {
  const start = src.indexOf(`export interface ${name} {`);
  assert.ok(start >= 0, `interface ${name}`);
  const body = src.slice(start, src.indexOf("\n}\n", start));
  const out = new Map<string, unknown>();
  for (const m of body.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\??:/g)) {
    const d = /@default\s+(.+?)\s*$/m.exec(m[1]!.replace(/\n\s*\*/g, "\n"));
    if (d === null) continue;
    const text = d[1]!.trim();
    let value: unknown;
    if (/^-?[\d_]+(\.\d+)?$/.test(text)) value = Number(text.replace(/_/g, ""));
    else if (/^"[^"]*"$/.test(text)) value = text.slice(1, -1);
    else if (text === "true" || text === "false") value = text === "true";
    else if (text === "[]") value = [];
    else if (text === "{}") value = {};
    else continue; // prose ("TCP", "off", "a cached ... selector"): not a literal to compare
    out.set(m[2]!, value);
  }
  return out;
}

describe("client options", () => {
  const deps = {
    registry: createMemoryRegistry,
    transport: createTcpTransport,
    codecs: defaultCodecs,
    broker: () => createMemoryBroker(),
  };

  it("every literal @default in ClientOptions' docs is what resolveClientOptions fills in", () => {
    const documented = documentedDefaults("../src/client/options.ts", "ClientOptions");
    assert.ok(documented.size >= 8, `found ${documented.size} documented defaults`);
    const resolved = resolveClientOptions({}, undefined, deps) as unknown as Record<string, unknown>;
    for (const [key, value] of documented) {
      assert.deepEqual(resolved[key], value, `ClientOptions.${key}: docs say ${JSON.stringify(value)}`);
      assert.deepEqual((CLIENT_DEFAULTS as Record<string, unknown>)[key], value);
    }
  });

  it("every @default in BreakerOptions' docs is what resolveClientOptions fills in for breaker: {}", () => {
    const documented = documentedDefaults("../src/client/breaker.ts", "BreakerOptions");
    assert.equal(documented.size, 4, `found ${documented.size} documented defaults`);
    const breaker = resolveClientOptions({ breaker: {} }, undefined, deps).breaker as Record<string, unknown>;
    for (const [key, value] of documented)
      assert.equal(breaker[key], value, `BreakerOptions.${key}: docs say ${JSON.stringify(value)}`);
    assert.throws(
      () => resolveClientOptions({ breaker: { errorRate: 0 } }, undefined, deps),
      /breaker\.errorRate/,
    );
    assert.throws(() => resolveClientOptions({ hedge: { delayMs: -1 } }, undefined, deps), /hedge\.delayMs/);
    assert.equal(resolveClientOptions({ breaker: false }, undefined, deps).breaker, false);
  });

  it("the docs check reads a wrong @default, which then disagrees (negative control)", () => {
    const wrong = parseDefaults(
      "export interface X {\n  /** Retries. @default 2 */\n  retries: number;\n  /** @default TCP */\n  t: 1;\n}\n",
      "X",
    );
    assert.deepEqual([...wrong], [["retries", 2]]);
    assert.notDeepEqual(resolveClientOptions({}, undefined, deps).retries, wrong.get("retries"));
  });

  it("resolves over the current options on init, keeps undefined as 'unchanged', freezes and checks", () => {
    const first = resolveClientOptions({ retries: 3 }, undefined, deps);
    const next = resolveClientOptions({ poolSize: 8, retries: undefined }, first, deps);
    assert.equal(next.retries, 3);
    assert.equal(next.poolSize, 8);
    assert.equal(next.registry, first.registry);
    assert.ok(Object.isFrozen(next));
    assert.throws(() => resolveClientOptions({ poolSize: 0 }, first, deps), /poolSize must be a number > 0/);
    assert.throws(
      () => resolveClientOptions({ contentType: "text/nope" } as Partial<ClientOptions>, first, deps),
      /has no codec/,
    );
    assert.equal(
      resolveClientOptions({ requestTimeoutMs: Infinity }, first, deps).requestTimeoutMs,
      Infinity,
    );
  });
});

describe("service options", () => {
  it("every literal @default in ServiceOptions' docs is what resolveServiceOptions fills in", () => {
    const documented = documentedDefaults("../src/service/service.ts", "ServiceOptions");
    assert.ok(documented.size >= 6, `found ${documented.size} documented defaults`);
    const resolved = resolveServiceOptions({ name: "opts" }) as unknown as Record<string, unknown>;
    for (const [key, value] of documented) {
      assert.deepEqual(resolved[key], value, `ServiceOptions.${key}: docs say ${JSON.stringify(value)}`);
      assert.deepEqual((SERVICE_DEFAULTS as Record<string, unknown>)[key], value);
    }
  });

  it("resolves codecs once, keeps what is given, freezes and checks", () => {
    const o = resolveServiceOptions({ name: "opts", trackInflight: false, registerTtlMs: 5 });
    assert.equal(o.trackInflight, false);
    assert.equal(o.registerTtlMs, 5);
    assert.ok(o.codecs.has("application/json"));
    assert.ok(Object.isFrozen(o));
    assert.throws(() => resolveServiceOptions({ name: "" }), /a name is required/);
    assert.throws(() => resolveServiceOptions({ name: "x", drainTimeoutMs: -1 }), /drainTimeoutMs must be/);
  });
});
