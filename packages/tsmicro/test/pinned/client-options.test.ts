/**
 * Pinned behaviours of the client's options (client/options.ts): the defaults, the back-off's
 * range and cap, the resolver (undefined keeps, object defaults made only when not given, a
 * change applied over the current options on `init`, the breaker's options completed) and each
 * check's edge, with the TypeError that names the option.
 */
import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import type { Broker } from "../../src/broker/broker.js";
import {
  CLIENT_DEFAULTS,
  type ClientDependencies,
  type ClientOptions,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_MAX_CALL_DEPTH,
  DEFAULT_POOL_SIZE,
  DEFAULT_POOL_TTL_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRIES,
  defaultBackoff,
  resolveClientOptions,
} from "../../src/client/options.js";
import { CodecRegistry } from "../../src/codec/codec.js";
import { createJsonCodec } from "../../src/codec/json.js";
import type { Registry } from "../../src/registry/registry.js";
import type { Transport } from "../../src/transport/transport.js";

/** Dependencies that say which defaults were made, and for which registry the broker was. */
function deps() {
  const made: string[] = [];
  const d: ClientDependencies = {
    registry: () => {
      made.push("registry");
      return { name: "default-registry" } as unknown as Registry;
    },
    transport: () => {
      made.push("transport");
      return { name: "default-transport" } as unknown as Transport;
    },
    codecs: () => {
      made.push("codecs");
      return new CodecRegistry([createJsonCodec()]);
    },
    broker: (registry) => {
      made.push(`broker(${(registry as { name?: string } | undefined)?.name ?? "none"})`);
      return { name: "default-broker" } as unknown as Broker;
    },
  };
  return { d, made };
}

const typeError = (message: string) => (e: unknown) => e instanceof TypeError && e.message === message;

describe("client options (pinned)", { timeout: 10_000 }, () => {
  it("the defaults", () => {
    const { backoff, ...plain } = CLIENT_DEFAULTS;
    assert.deepEqual(plain, {
      retries: 1,
      requestTimeoutMs: 5000,
      dialTimeoutMs: 5000,
      poolSize: 4,
      poolTtlMs: 60_000,
      contentType: "application/json",
      selector: undefined,
      wrappers: [],
      middleware: [],
      maxCallDepth: 64,
      retry: undefined,
      trackInflight: true,
      watchdog: undefined,
      breaker: undefined,
      hedge: undefined,
    });
    assert.equal(backoff, defaultBackoff);
    assert.ok(Object.isFrozen(CLIENT_DEFAULTS) && Object.isFrozen(CLIENT_DEFAULTS.wrappers));
    assert.deepEqual(
      [
        DEFAULT_RETRIES,
        DEFAULT_REQUEST_TIMEOUT_MS,
        DEFAULT_DIAL_TIMEOUT_MS,
        DEFAULT_POOL_SIZE,
        DEFAULT_POOL_TTL_MS,
        DEFAULT_MAX_CALL_DEPTH,
      ],
      [1, 5000, 5000, 4, 60_000, 64],
    );
  });

  it("back-off: 10 ms × 2^(attempt−1), capped at 1 s, jittered over its upper half", () => {
    const random = mock.method(Math, "random", () => 0);
    try {
      assert.deepEqual([1, 2, 3, 7, 8, 20].map(defaultBackoff), [5, 10, 20, 320, 500, 500]);
      random.mock.mockImplementation(() => 0.999_999);
      const top = [1, 2, 7, 8].map(defaultBackoff);
      for (const [i, want] of [10, 20, 640, 1000].entries()) {
        assert.ok(Math.abs(top[i]! - want) < 0.01, `attempt ${[1, 2, 7, 8][i]}: ${top[i]} ≈ ${want}`);
      }
    } finally {
      random.mock.restore();
    }
  });

  it("a new client: defaults under the given options, object defaults made only when not given, frozen", () => {
    const { d, made } = deps();
    const o = resolveClientOptions({ retries: 3, poolSize: undefined }, undefined, d);
    assert.equal(o.retries, 3);
    assert.equal(o.poolSize, 4, "undefined keeps the default");
    assert.deepEqual(made, ["registry", "transport", "codecs", "broker(none)"]);
    assert.ok(Object.isFrozen(o));
    assert.equal((o.registry as unknown as { name: string }).name, "default-registry");

    const given = deps();
    const registry = { name: "mine" } as unknown as Registry;
    const transport = { name: "t" } as unknown as Transport;
    const codecs = new CodecRegistry([createJsonCodec()]);
    const broker = { name: "b" } as unknown as Broker;
    const full = resolveClientOptions({ registry, transport, codecs, broker }, undefined, given.d);
    assert.deepEqual(given.made, []);
    assert.equal(full.registry, registry);
    assert.equal(full.transport, transport);
    assert.equal(full.codecs, codecs);
    assert.equal(full.broker, broker);
    const onMine = deps();
    resolveClientOptions({ registry }, undefined, onMine.d);
    assert.deepEqual(
      onMine.made,
      ["transport", "codecs", "broker(mine)"],
      "the default broker is made on the given registry",
    );
  });

  it("init: changes over the current options, nothing made, undefined keeps the current value", () => {
    const first = deps();
    const base = resolveClientOptions({ retries: 2, requestTimeoutMs: 900 }, undefined, first.d);
    const again = deps();
    const next = resolveClientOptions({ requestTimeoutMs: 100, retries: undefined }, base, again.d);
    assert.deepEqual(again.made, []);
    assert.equal(next.retries, 2);
    assert.equal(next.requestTimeoutMs, 100);
    assert.equal(next.registry, base.registry);
    assert.equal(base.requestTimeoutMs, 900, "the current options are not changed");
  });

  it("a breaker's options are completed with its defaults and checked; false stays false", () => {
    const { d } = deps();
    const o = resolveClientOptions({ breaker: { errorRate: 0.5 } }, undefined, d);
    const b = o.breaker as Record<string, unknown>;
    assert.equal(b.errorRate, 0.5);
    for (const k of ["minRequests", "windowMs", "coolDownMs"]) assert.equal(typeof b[k], "number", k);
    assert.equal(resolveClientOptions({ breaker: false }, o, d).breaker, false);
    assert.throws(
      () => resolveClientOptions({ breaker: { errorRate: 2 } }, undefined, d),
      /breaker\.errorRate/,
    );
  });

  it("checks: timeouts, pool size and depth above 0 (Infinity allowed), retries an integer ≥ 0, a codec for the content type, the hedge", () => {
    const { d } = deps();
    const base = resolveClientOptions({}, undefined, d);
    const at = (changes: Partial<ClientOptions>) => () => resolveClientOptions(changes, base, d);
    for (const k of ["requestTimeoutMs", "dialTimeoutMs", "poolSize", "maxCallDepth"] as const) {
      for (const [bad, shown] of [
        [0, "0"],
        [-1, "-1"],
        [Number.NaN, "NaN"],
        ["5", "5"],
      ] as const) {
        assert.throws(
          at({ [k]: bad }),
          typeError(`client option ${k} must be a number > 0, got ${shown}`),
          `${k}=${shown}`,
        );
      }
      assert.doesNotThrow(at({ [k]: 0.5 }));
    }
    assert.equal(
      resolveClientOptions({ requestTimeoutMs: Number.POSITIVE_INFINITY }, base, d).requestTimeoutMs,
      Number.POSITIVE_INFINITY,
    );
    for (const bad of [-1, 1.5, Number.NaN]) {
      assert.throws(
        at({ retries: bad }),
        typeError(`client option retries must be an integer ≥ 0, got ${bad}`),
      );
    }
    assert.equal(resolveClientOptions({ retries: 0 }, base, d).retries, 0);
    assert.throws(
      at({ contentType: "application/x-nope" }),
      typeError('client option contentType "application/x-nope" has no codec; supported: application/json'),
    );
    assert.throws(
      at({
        contentType: "application/x-nope",
        codecs: new CodecRegistry([createJsonCodec(), { ...createJsonCodec(), contentType: "text/json" }]),
      }),
      typeError(
        'client option contentType "application/x-nope" has no codec; supported: application/json, text/json',
      ),
    );
    assert.throws(
      at({ hedge: { delayMs: -1 } }),
      typeError("client option hedge.delayMs must be a finite number ≥ 0, got -1"),
    );
    assert.equal(resolveClientOptions({ hedge: false }, base, d).hedge, false);
  });
});
