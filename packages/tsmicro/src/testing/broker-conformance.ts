/**
 * The broker conformance suite: every Broker implementation runs it unchanged (memory, http,
 * NATS, JetStream, Redis, RabbitMQ). Each case checks one line of the semantics table in
 * broker/README.md. Call it from a test file:
 *
 *   brokerConformance("nats", { create: () => createNatsBroker({ servers }), durable: false });
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import type { Broker, BrokerHandler, BrokerMessage, Event } from "../broker/broker.js";
import { HEADER } from "../broker/broker.js";
import { badRequest, MicroError } from "../errors.js";

export interface BrokerConformanceOptions {
  /** A broker on the shared backend; called once per role (publisher, each subscriber). */
  create(): Broker | Promise<Broker>;
  /** A queue group keeps the messages published while none of its members runs. */
  durable: boolean;
  /** Queue groups exist; without them a subscription with `queue` must be refused with a 400. @default true */
  queueGroups?: boolean;
  /** One subscriber sees one publisher's messages in publish order. @default true */
  ordered?: boolean;
  /** Bound on waiting for a delivery, ms. @default 10000 */
  waitMs?: number;
  /** How long "nothing more arrives" is watched for, ms. @default 300 */
  quietMs?: number;
  /** Removes what the suite created on the backend (streams, queues, keys) for these topics. */
  cleanup?(topics: string[]): Promise<void>;
}

export function brokerConformance(name: string, options: BrokerConformanceOptions): void {
  const waitMs = options.waitMs ?? 10_000;
  const quietMs = options.quietMs ?? 300;
  const ordered = options.ordered ?? true;
  const groups = options.queueGroups ?? true;
  // Where a case would use a queue group, a broker without them uses broadcast.
  const queue = (name: string) => (groups ? { queue: name } : {});
  // Cases about queue groups are not registered at all for a broker without them.
  const itWithGroups: typeof it = groups ? it : ((() => {}) as unknown as typeof it);
  const opened = new Set<Broker>();
  const topics: string[] = [];
  const open = async () => {
    const b = await options.create();
    opened.add(b);
    await b.connect();
    return b;
  };
  const topic = (base: string) => {
    const t = `conf.${base}.${randomUUID().slice(0, 8)}`;
    topics.push(t, `${t}.dlq`);
    return t;
  };
  const msg = (id: string, extra: Record<string, string> = {}): BrokerMessage => ({
    headers: { [HEADER.id]: id, ...extra },
    body: Buffer.from(id),
  });

  describe(`broker conformance: ${name}`, { timeout: 120_000 }, () => {
    after(async () => {
      await Promise.all([...opened].map((b) => b.disconnect().catch(() => {})));
      await options.cleanup?.(topics);
    });

    it("delivers headers and a binary body intact, as delivery 1", async () => {
      const [pub, sub] = [await open(), await open()];
      const t = topic("intact");
      const got = collector();
      await sub.subscribe(t, got.handler);
      const body = Uint8Array.from({ length: 256 }, (_, i) => i);
      await pub.publish(t, { headers: { [HEADER.id]: "x1", "x-unicode": "grüße ✓", "x-empty": "" }, body });
      await got.waitFor(1, waitMs, "the message");
      const e = got.events[0]!;
      assert.equal(e.topic, t);
      assert.equal(e.attempt, 1);
      assert.equal(e.message.headers["x-unicode"], "grüße ✓");
      assert.equal(e.message.headers["x-empty"], "");
      assert.deepEqual(Buffer.from(e.message.body), Buffer.from(body));
    });

    it("broadcast: every subscriber gets every message", async () => {
      const [pub, s1, s2] = [await open(), await open(), await open()];
      const t = topic("broadcast");
      const a = collector();
      const b = collector();
      await s1.subscribe(t, a.handler);
      await s2.subscribe(t, b.handler);
      const ids = range(20).map((i) => `b${i}`);
      for (const id of ids) await pub.publish(t, msg(id));
      await a.waitFor(ids.length, waitMs, "subscriber 1 to get all 20");
      await b.waitFor(ids.length, waitMs, "subscriber 2 to get all 20");
      assert.deepEqual(a.ids().sort(), [...ids].sort());
      assert.deepEqual(b.ids().sort(), [...ids].sort());
    });

    if (!groups) {
      it("refuses a queue group with a 400 that says so", async () => {
        const b = await open();
        await assert.rejects(
          b.subscribe(topic("nogroups"), () => {}, { queue: "workers" }),
          (err: unknown) => {
            assert.ok(err instanceof MicroError && err.code === 400 && /queue/.test(err.detail), String(err));
            return true;
          },
        );
      });
    }

    itWithGroups(
      "queue group: each message goes to exactly one member; a broadcast subscriber beside it gets all",
      async () => {
        const [pub, m1, m2, s] = [await open(), await open(), await open(), await open()];
        const t = topic("group");
        const g1 = collector();
        const g2 = collector();
        const all = collector();
        await m1.subscribe(t, g1.handler, { queue: "workers" });
        await m2.subscribe(t, g2.handler, { queue: "workers" });
        await s.subscribe(t, all.handler);
        const ids = range(40).map((i) => `g${i}`);
        for (const id of ids) await pub.publish(t, msg(id));
        await all.waitFor(ids.length, waitMs, "the broadcast subscriber to get all 40");
        await waitUntil(
          () => g1.events.length + g2.events.length >= ids.length,
          waitMs,
          "the group to get all 40",
        );
        await delay(quietMs);
        const group = [...g1.ids(), ...g2.ids()].sort();
        assert.deepEqual(group, [...ids].sort(), "each message exactly once across the group");
      },
    );

    itWithGroups("two queue groups each get every message", async () => {
      const [pub, s1, s2] = [await open(), await open(), await open()];
      const t = topic("twogroups");
      const a = collector();
      const b = collector();
      await s1.subscribe(t, a.handler, { queue: "ga" });
      await s2.subscribe(t, b.handler, { queue: "gb" });
      const ids = range(10).map((i) => `t${i}`);
      for (const id of ids) await pub.publish(t, msg(id));
      await a.waitFor(10, waitMs, "group ga");
      await b.waitFor(10, waitMs, "group gb");
      assert.deepEqual(a.ids().sort(), [...ids].sort());
      assert.deepEqual(b.ids().sort(), [...ids].sort());
    });

    if (ordered) {
      it("one subscriber sees one publisher's messages in publish order", async () => {
        const [pub, sub] = [await open(), await open()];
        const t = topic("order");
        const got = collector();
        await sub.subscribe(t, got.handler, queue("ordered"));
        const ids = range(200).map((i) => `o${i}`);
        for (const id of ids) await pub.publish(t, msg(id));
        await got.waitFor(ids.length, waitMs, "200 messages");
        assert.deepEqual(got.ids(), ids);
      });
    }

    it("delivers every one of 300 concurrent publishes", async () => {
      const [pub, sub] = [await open(), await open()];
      const t = topic("concurrent");
      const got = collector();
      await sub.subscribe(t, got.handler);
      const ids = range(300).map((i) => `c${i}`);
      await Promise.all(ids.map((id) => pub.publish(t, msg(id))));
      await waitUntil(() => new Set(got.ids()).size >= ids.length, waitMs, "all 300 concurrent publishes");
      assert.deepEqual([...new Set(got.ids())].sort(), [...ids].sort());
    });

    it("a handler that throws: redelivered up to maxDeliver, then moved to the dead-letter topic", async () => {
      const [pub, sub, dlqSub] = [await open(), await open(), await open()];
      const t = topic("poison");
      const attempts: number[] = [];
      const dead = collector();
      await dlqSub.subscribe(`${t}.dlq`, dead.handler);
      await sub.subscribe(
        t,
        (e) => {
          attempts.push(e.attempt);
          throw new Error(`boom on attempt ${e.attempt}`);
        },
        { ...queue("poison"), maxDeliver: 3, retryDelayMs: 20 },
      );
      await pub.publish(t, msg("p1", { "x-trace": "abc" }));
      await dead.waitFor(1, waitMs, "the dead letter");
      await delay(quietMs);
      assert.deepEqual(attempts, [1, 2, 3], "three deliveries, numbered");
      const d = dead.events[0]!.message;
      assert.equal(d.headers[HEADER.deadLetterTopic], t);
      assert.match(d.headers[HEADER.deadLetterReason] ?? "", /boom on attempt 3/);
      assert.equal(d.headers[HEADER.attempt], "3");
      assert.equal(d.headers["x-trace"], "abc", "original headers kept");
      assert.equal(Buffer.from(d.body).toString(), "p1");
      assert.equal(dead.events.length, 1, "one dead letter");
    });

    it("a handler that fails once is redelivered and not dead-lettered", async () => {
      const [pub, sub, dlqSub] = [await open(), await open(), await open()];
      const t = topic("flaky");
      const attempts: number[] = [];
      const dead = collector();
      await dlqSub.subscribe(`${t}.dlq`, dead.handler);
      await sub.subscribe(
        t,
        (e) => {
          attempts.push(e.attempt);
          if (e.attempt === 1) throw new Error("transient");
        },
        { maxDeliver: 3, retryDelayMs: 20 },
      );
      await pub.publish(t, msg("f1"));
      await waitUntil(() => attempts.length >= 2, waitMs, "the redelivery");
      await delay(quietMs);
      assert.deepEqual(attempts, [1, 2]);
      assert.equal(dead.events.length, 0, "nothing dead-lettered");
    });

    it("manual ack: nack() redelivers, ack() settles", async () => {
      const [pub, sub] = [await open(), await open()];
      const t = topic("manual");
      const attempts: number[] = [];
      await sub.subscribe(
        t,
        async (e) => {
          attempts.push(e.attempt);
          if (e.attempt === 1) await e.nack();
          else await e.ack();
        },
        { autoAck: false, maxDeliver: 5, retryDelayMs: 20 },
      );
      await pub.publish(t, msg("m1"));
      await waitUntil(() => attempts.length >= 2, waitMs, "the redelivery after nack()");
      await delay(quietMs);
      assert.deepEqual(attempts, [1, 2]);
    });

    it("a 4xx error that is not retryable goes to the dead-letter topic at once", async () => {
      const [pub, sub, dlqSub] = [await open(), await open(), await open()];
      const t = topic("badinput");
      const attempts: number[] = [];
      const dead = collector();
      await dlqSub.subscribe(`${t}.dlq`, dead.handler);
      await sub.subscribe(
        t,
        (e) => {
          attempts.push(e.attempt);
          throw badRequest("conformance", "cannot decode");
        },
        { maxDeliver: 5, retryDelayMs: 20 },
      );
      await pub.publish(t, msg("x"));
      await dead.waitFor(1, waitMs, "the dead letter");
      assert.deepEqual(attempts, [1]);
      assert.match(dead.events[0]!.message.headers[HEADER.deadLetterReason] ?? "", /cannot decode/);
    });

    it("unsubscribe stops deliveries to that subscriber only", async () => {
      const [pub, s1, s2] = [await open(), await open(), await open()];
      const t = topic("unsub");
      const gone = collector();
      const stays = collector();
      const sub = await s1.subscribe(t, gone.handler);
      await s2.subscribe(t, stays.handler);
      await pub.publish(t, msg("u1"));
      await gone.waitFor(1, waitMs, "the first message");
      await stays.waitFor(1, waitMs, "the first message (control)");
      await sub.unsubscribe();
      await pub.publish(t, msg("u2"));
      await stays.waitFor(2, waitMs, "the second message at the remaining subscriber");
      await delay(quietMs);
      assert.deepEqual(gone.ids(), ["u1"], "nothing after unsubscribe");
    });

    if (options.durable) {
      it("a queue group keeps messages published while no member runs", async () => {
        const [pub, sub] = [await open(), await open()];
        const t = topic("durable");
        const first = collector();
        const s = await sub.subscribe(t, first.handler, { queue: "keeper" });
        await pub.publish(t, msg("d0"));
        await first.waitFor(1, waitMs, "the first message");
        await s.unsubscribe();
        const ids = range(5).map((i) => `d${i + 1}`);
        for (const id of ids) await pub.publish(t, msg(id));
        const later = collector();
        await sub.subscribe(t, later.handler, { queue: "keeper" });
        await later.waitFor(5, waitMs, "the 5 messages kept for the group");
        assert.deepEqual(later.ids().sort(), [...ids].sort());
      });
    }

    it("publish after disconnect fails with a MicroError, never silently", async () => {
      const b = await open();
      await b.disconnect();
      await assert.rejects(b.publish(topic("closed"), msg("z")), (err: unknown) => {
        assert.ok(err instanceof MicroError, `a MicroError, got ${String(err)}`);
        assert.equal(err.code, 503);
        return true;
      });
    });

    it("a publish whose signal is aborted rejects", async () => {
      const b = await open();
      const controller = new AbortController();
      controller.abort(new Error("caller gave up"));
      await assert.rejects(
        b.publish(topic("aborted"), msg("a"), { signal: controller.signal }),
        /caller gave up/,
      );
    });

    it("rejects bad topics, queue names and messages with a 400 naming the broker", async () => {
      const b = await open();
      const is400 = (err: unknown) =>
        err instanceof MicroError && err.code === 400 && err.detail.includes(b.name);
      await assert.rejects(b.publish("has space", msg("x")), is400);
      await assert.rejects(b.publish("", msg("x")), is400);
      await assert.rejects(
        b.subscribe("wild.*", () => {}),
        is400,
      );
      if (groups)
        await assert.rejects(
          b.subscribe(topic("q"), () => {}, { queue: "bad queue" }),
          is400,
        );
      await assert.rejects(
        b.publish(topic("nobody"), { headers: {}, body: "text" } as unknown as BrokerMessage),
        is400,
      );
    });

    it("connect is idempotent and the name says which broker", async () => {
      const b = await open();
      await b.connect();
      await b.connect();
      assert.ok(b.name.length > 0);
    });
  });
}

function collector() {
  const events: Event[] = [];
  let notify: (() => void) | undefined;
  const handler: BrokerHandler = (e) => {
    events.push(e);
    notify?.();
  };
  return {
    events,
    handler,
    ids: () => events.map((e) => e.message.headers[HEADER.id]!),
    async waitFor(n: number, ms: number, what: string) {
      await waitUntil(
        () => events.length >= n,
        ms,
        () => `${what} (have ${events.length} of ${n})`,
      );
    },
  };
}

async function waitUntil(done: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    await delay(10);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
