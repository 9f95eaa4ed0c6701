/**
 * Pinned behaviours of the client's publish path (client/publish.ts): the headers it sends, a
 * caller's deadline that has passed (refused before the broker is asked), the smaller of the two
 * timeouts, the stall doctor's record and its deadline, and which signal reaches the broker.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Broker, BrokerMessage, PublishOptions } from "../../src/broker/broker.js";
import type { ClientOptions } from "../../src/client/options.js";
import { newMessage, PUBLISH_ENDPOINT, publishMessage } from "../../src/client/publish.js";
import { defaultCodecs } from "../../src/codec/index.js";
import { background, withCancel, withDeadline, withMetadata } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";
import { type InflightSnapshot, InflightTable } from "../../src/inflight.js";

interface Seen {
  topic: string;
  message: BrokerMessage;
  opts: PublishOptions | undefined;
  /** The in-flight table while the broker held the publish. */
  inflight: InflightSnapshot[];
}

/** Client options whose broker records each publish; `hold` keeps it open until released. */
function options(table: InflightTable, requestTimeoutMs = 60_000, hold?: Promise<void>) {
  const seen: Seen[] = [];
  const broker = {
    name: "recording",
    publish: async (topic: string, message: BrokerMessage, opts?: PublishOptions) => {
      seen.push({ topic, message, opts, inflight: table.snapshot() });
      await hold;
    },
  } as unknown as Broker;
  const o = {
    codecs: defaultCodecs(),
    contentType: "application/json",
    requestTimeoutMs,
    broker,
  } as ClientOptions;
  return { o, seen };
}

describe("client publish (pinned)", { timeout: 10_000 }, () => {
  it("sends the payload with the codec, lower-cased metadata, topic, content type and a fresh id", async () => {
    const table = new InflightTable();
    const { o, seen } = options(table);
    const ctx = withMetadata(background(), { "X-From-Ctx": "a" });
    await publishMessage(o, table, ctx, newMessage("orders", { n: 1 }), { metadata: { "X-Extra": "b" } });
    await publishMessage(o, table, ctx, newMessage("orders", { n: 2 }));
    assert.equal(seen.length, 2);
    const h = seen[0]!.message.headers;
    assert.equal(h["x-from-ctx"], "a");
    assert.equal(h["x-extra"], "b");
    assert.equal(h["content-type"], "application/json");
    assert.equal(h["micro-topic"], "orders");
    assert.match(h["micro-id"] ?? "", /^[0-9a-f-]{36}$/);
    assert.notEqual(h["micro-id"], seen[1]!.message.headers["micro-id"], "each publish has its own id");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(seen[0]!.message.body)), { n: 1 });
    assert.equal(seen[1]!.message.headers["x-extra"], undefined);
  });

  it("a caller whose deadline has passed gets a 408 naming the topic, and the broker is not asked", async () => {
    const table = new InflightTable();
    const { o, seen } = options(table);
    const ctx = withDeadline(background(), Date.now() - 1);
    const err = await publishMessage(o, table, ctx, newMessage("orders", 1)).catch((e: unknown) => e);
    assert.ok(err instanceof MicroError, String(err));
    assert.equal(err.code, 408);
    assert.equal(err.id, "tsmicro");
    assert.equal(err.detail, `publish to "orders": the caller's deadline has passed`);
    assert.equal(seen.length, 0);
    assert.equal(table.size, 0);
  });

  it("the broker gets the smaller of the caller's time left and the publish timeout; the record has that deadline", async () => {
    const table = new InflightTable();
    const { o, seen } = options(table, 60_000);
    const before = Date.now();
    await publishMessage(o, table, withDeadline(background(), before + 1000), newMessage("t", 1));
    const t = seen[0]!.opts?.timeoutMs ?? Number.NaN;
    assert.ok(t <= 1000 && t > 500, `timeoutMs ${t}: the caller's 1 s left, not the client's 60 s`);
    await publishMessage(o, table, background(), newMessage("t", 2), { timeoutMs: 200 });
    assert.equal(seen[1]!.opts?.timeoutMs, 200);
    const rec = seen[1]!.inflight;
    assert.equal(rec.length, 1);
    assert.equal(rec[0]!.service, "t", "the record's service is the topic");
    assert.equal(rec[0]!.endpoint, PUBLISH_ENDPOINT);
    assert.equal(rec[0]!.phase, "publishing");
    const d = rec[0]!.deadline ?? Number.NaN;
    assert.ok(d >= rec[0]!.startedAt + 200 && d <= rec[0]!.startedAt + 201, `deadline ${d} = start + 200`);
    assert.equal(
      seen[1]!.opts?.inflight?.id,
      rec[0]!.id,
      "the broker gets the record to move through its phases",
    );
    assert.equal(table.size, 0, "the record is removed when the publish ends");
  });

  it("no deadline anywhere: the record has none", async () => {
    const table = new InflightTable();
    const { o, seen } = options(table, Number.POSITIVE_INFINITY);
    await publishMessage(o, table, background(), newMessage("t", 1));
    assert.equal(seen[0]!.inflight[0]!.deadline, undefined);
    assert.equal(seen[0]!.opts?.timeoutMs, Number.POSITIVE_INFINITY);
  });

  it("signals: none for background, the context's own otherwise, a linked one with the caller's signal", async () => {
    const table = new InflightTable();
    let release!: () => void;
    const hold = new Promise<void>((r) => {
      release = r;
    });
    const { o, seen } = options(table, 60_000, hold);
    release();
    await publishMessage(o, table, background(), newMessage("t", 1));
    assert.equal(seen[0]!.opts?.signal, undefined, "background never aborts: no listener per publish");
    const [ctx, cancel] = withCancel(background());
    await publishMessage(o, table, ctx, newMessage("t", 2));
    assert.equal(seen[1]!.opts?.signal, ctx.signal, "the context's signal reaches the broker");

    // With the caller's own signal: either one aborts what the broker holds.
    const mine = new AbortController();
    await publishMessage(o, table, ctx, newMessage("t", 3), { signal: mine.signal });
    const linked = seen[2]!.opts?.signal;
    assert.ok(linked !== undefined && linked !== mine.signal && linked !== ctx.signal);
    mine.abort(new Error("mine"));
    assert.equal(linked.aborted, false, "unlinked once the publish ended");

    const mine2 = new AbortController();
    await publishMessage(o, table, ctx, newMessage("t", 4), { signal: mine2.signal });
    assert.equal(seen[3]!.opts?.signal?.aborted, false);
    cancel();
  });

  it("while the broker holds the publish, aborting the caller's signal or the context aborts the broker's signal", async () => {
    for (const which of ["caller", "context"] as const) {
      const table = new InflightTable();
      let release!: () => void;
      const hold = new Promise<void>((r) => {
        release = r;
      });
      const { o, seen } = options(table, 60_000, hold);
      const [ctx, cancel] = withCancel(background());
      const mine = new AbortController();
      const p = publishMessage(o, table, ctx, newMessage("t", 1), { signal: mine.signal });
      await new Promise((r) => setImmediate(r));
      const signal = seen[0]!.opts?.signal;
      assert.equal(signal?.aborted, false);
      if (which === "caller") mine.abort(new Error("caller"));
      else cancel();
      assert.equal(signal?.aborted, true, `${which}: the broker's signal aborted`);
      release();
      await p;
      cancel();
    }
  });
});
