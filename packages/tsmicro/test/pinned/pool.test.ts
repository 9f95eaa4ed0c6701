/**
 * Pinned behaviours of the connection pool (transport/pool.ts), on a fake transport whose dials
 * the test settles by hand: one shared dial per new address, the open connection taken in the
 * caller's turn, growth in the background only when a connection is shared (never past `size`,
 * one dial at a time, none while draining), the least busy connection picked, unusable and
 * expired connections dropped, failed dials and closed connections forgotten, a caller's signal
 * bounding only its own wait, and a drain that closes everything gracefully.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pool } from "../../src/transport/pool.js";
import type { Connection, Transport } from "../../src/transport/transport.js";

class FakeConn implements Connection {
  inflight = 0;
  usable = true;
  createdAt = Date.now();
  /** How close() was called: true graceful, false at once, undefined not called. */
  closedWith: boolean | undefined;
  #closed!: () => void;
  readonly closed = new Promise<void>((r) => {
    this.#closed = r;
  });
  constructor(
    readonly address: string,
    readonly n: number,
  ) {}
  request(): never {
    throw new Error("the pool never sends");
  }
  close(graceful?: boolean): void {
    this.closedWith = graceful ?? false;
    this.usable = false;
    this.#closed();
  }
}

interface Dial {
  address: string;
  timeoutMs: number;
  succeed(): FakeConn;
  fail(e: Error): void;
}

function fakeTransport() {
  const dials: Dial[] = [];
  const transport: Transport = {
    name: "fake",
    dial: (address, { timeoutMs }) =>
      new Promise<Connection>((resolve, reject) => {
        dials.push({
          address,
          timeoutMs,
          succeed() {
            const c = new FakeConn(address, dials.indexOf(this));
            resolve(c);
            return c;
          },
          fail: reject,
        });
      }),
    listen: () => Promise.reject(new Error("not used")),
  };
  return { transport, dials };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe("connection pool (pinned)", { timeout: 10_000 }, () => {
  it("a new address is dialled once for concurrent callers; then its connection is taken in the caller's turn", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 2, ttlMs: 0 });
    const p1 = pool.get("a", 123);
    const p2 = pool.get("a", 456);
    assert.ok(p1 instanceof Promise && p2 instanceof Promise);
    assert.equal(dials.length, 1, "one dial shared");
    assert.deepEqual([dials[0]!.address, dials[0]!.timeoutMs], ["a", 123]);
    const conn = dials[0]!.succeed();
    assert.equal(await p1, conn);
    assert.equal(await p2, conn);
    assert.deepEqual([pool.size, pool.addresses], [1, 1]);
    await turn();
    assert.equal(pool.get("a", 123), conn, "an open, idle connection is returned as is, not as a promise");
    assert.equal(dials.length, 1, "an idle connection is not grown from");
  });

  it("a connection already in use grows the pool in the background, one dial at a time, up to size", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 2, ttlMs: 0 });
    const p = pool.get("a", 100);
    const first = dials[0]!.succeed();
    await p;
    await turn();
    first.inflight = 1;
    assert.equal(pool.get("a", 100), first, "the caller is not kept waiting for the new socket");
    assert.equal(dials.length, 2, "a second socket is dialled");
    await turn();
    assert.equal(pool.get("a", 100), first);
    assert.equal(dials.length, 2, "not while one dial is under way");
    const second = dials[1]!.succeed();
    await turn();
    assert.equal(pool.size, 2);
    assert.equal(pool.get("a", 100), second, "the idle one");
    await turn();
    second.inflight = 1;
    pool.get("a", 100);
    assert.equal(dials.length, 2, "no third socket: size is 2");
  });

  it("two callers in one turn share a connection: the second grows the pool; the next turn starts afresh", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 3, ttlMs: 0 });
    const p = pool.get("a", 100);
    dials[0]!.succeed();
    await p;
    await turn();
    pool.get("a", 100);
    assert.equal(dials.length, 1, "the first taker of an idle connection does not grow");
    pool.get("a", 100);
    assert.equal(dials.length, 2, "the second taker in the same turn does");
    dials[1]!.succeed();
    await turn();
    pool.get("a", 100);
    assert.equal(dials.length, 2, "a new turn: taken again from zero");
  });

  it("takes the least busy connection, the first of equals", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 3, ttlMs: 0 });
    const p = pool.get("a", 100);
    const c0 = dials[0]!.succeed();
    await p;
    c0.inflight = 1;
    pool.get("a", 100);
    const c1 = dials[1]!.succeed();
    await turn();
    c1.inflight = 1;
    pool.get("a", 100);
    const c2 = dials[2]!.succeed();
    await turn();
    [c0.inflight, c1.inflight, c2.inflight] = [3, 1, 2];
    assert.equal(pool.get("a", 100), c1);
    await turn();
    [c0.inflight, c1.inflight, c2.inflight] = [2, 2, 2];
    assert.equal(pool.get("a", 100), c0);
  });

  it("drops and closes connections that are unusable or past their TTL; 0 keeps them forever", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 2, ttlMs: 1000 });
    const p = pool.get("a", 100);
    const old = dials[0]!.succeed();
    await p;
    await turn();
    old.createdAt = Date.now() - 900;
    assert.equal(pool.get("a", 100), old, "within its TTL");
    await turn();
    old.createdAt = Date.now() - 1100;
    const next = pool.get("a", 100);
    assert.ok(next instanceof Promise, "past its TTL: a new dial");
    assert.equal(old.closedWith, true, "closed gracefully: its calls finish");
    const fresh = dials[1]!.succeed();
    assert.equal(await next, fresh);
    await turn();
    fresh.usable = false;
    assert.ok(pool.get("a", 100) instanceof Promise, "unusable: a new dial");
    assert.equal(fresh.closedWith, true);

    const forever = fakeTransport();
    const keep = new Pool({ transport: forever.transport, size: 1, ttlMs: 0 });
    const q = keep.get("a", 100);
    const ancient = forever.dials[0]!.succeed();
    await q;
    await turn();
    ancient.createdAt = 0;
    assert.equal(keep.get("a", 100), ancient, "ttlMs 0: never too old");
  });

  it("a failed dial fails its callers and leaves nothing behind; a closed connection is forgotten", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 2, ttlMs: 0 });
    const p = pool.get("a", 100);
    assert.equal(pool.addresses, 1, "the dial holds the address");
    dials[0]!.fail(new Error("refused"));
    await assert.rejects(p as Promise<Connection>, /refused/);
    assert.deepEqual([pool.size, pool.addresses], [0, 0]);
    const q = pool.get("b", 100);
    const conn = dials[1]!.succeed();
    await q;
    assert.deepEqual([pool.size, pool.addresses], [1, 1]);
    conn.close();
    await conn.closed;
    await turn();
    assert.deepEqual([pool.size, pool.addresses], [0, 0]);
  });

  it("a caller's signal ends its own wait for a dial, not the dial", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 2, ttlMs: 0 });
    const ac = new AbortController();
    const p = pool.get("a", 100, ac.signal);
    const q = pool.get("a", 100);
    ac.abort(new Error("gave up"));
    await assert.rejects(p as Promise<Connection>, /gave up/);
    const conn = dials[0]!.succeed();
    assert.equal(await q, conn, "the other caller still gets it");
    assert.equal(dials.length, 1);
    const late = new AbortController();
    late.abort(new Error("already"));
    await turn();
    assert.equal(pool.get("a", 100, late.signal), conn, "an open connection needs no wait");
  });

  it("drain closes every connection gracefully and waits for them; a dial that ends during it serves its caller, then closes", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 2, ttlMs: 0 });
    const p = pool.get("a", 100);
    const open = dials[0]!.succeed();
    await p;
    const pending = pool.get("b", 100);
    let drained = false;
    const draining = pool.drain().then(() => {
      drained = true;
    });
    assert.equal(open.closedWith, true);
    await draining;
    assert.ok(drained);
    assert.deepEqual([pool.size, pool.addresses], [0, 0]);
    const late = dials[1]!.succeed();
    assert.equal(await pending, late, "its caller still gets it");
    assert.equal(late.closedWith, undefined, "not before the caller could send");
    await turn();
    assert.equal(late.closedWith, true);
    assert.equal(pool.size, 0, "never added to a draining pool");
  });

  it("does not grow a draining pool", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 2, ttlMs: 0 });
    const p = pool.get("a", 100);
    dials[0]!.succeed();
    await p;
    void pool.drain();
    const q = pool.get("a", 100);
    const again = dials[1]!.succeed();
    assert.equal(await q, again);
    again.inflight = 1;
    await turn();
    pool.get("a", 100);
    pool.get("a", 100);
    assert.equal(dials.length, 3, "a new dial per call (nothing kept), never a background one");
  });

  it("an unusable connection is skipped for the next open one, not a new dial", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 2, ttlMs: 0 });
    const p = pool.get("a", 100);
    const bad = dials[0]!.succeed();
    await p;
    bad.inflight = 1;
    pool.get("a", 100);
    const good = dials[1]!.succeed();
    await turn();
    bad.usable = false;
    assert.equal(pool.get("a", 100), good);
    assert.equal(dials.length, 2);
    assert.equal(pool.size, 1);
  });

  it("an address keeps its slot while it has a connection or a dial", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 3, ttlMs: 0 });
    const p = pool.get("a", 100);
    const first = dials[0]!.succeed();
    await p;
    first.inflight = 1;
    pool.get("a", 100); // grows in the background
    dials[1]!.fail(new Error("refused"));
    await turn();
    assert.deepEqual(
      [pool.size, pool.addresses],
      [1, 1],
      "a failed background dial keeps the open connection",
    );
    first.inflight = 1;
    pool.get("a", 100);
    const second = dials[2]!.succeed();
    await turn();
    first.close();
    await turn();
    assert.deepEqual([pool.size, pool.addresses], [1, 1], "one closed, one open");
    second.inflight = 1;
    pool.get("a", 100); // a dial under way
    second.close();
    await turn();
    assert.deepEqual([pool.size, pool.addresses], [0, 1], "no connection, but a dial");
    dials[3]!.succeed();
    await turn();
    assert.deepEqual([pool.size, pool.addresses], [1, 1]);
  });

  it("a connection closing after a drain does not forget the address's new slot", async () => {
    const { transport, dials } = fakeTransport();
    const pool = new Pool({ transport, size: 2, ttlMs: 0 });
    const p = pool.get("a", 100);
    dials[0]!.succeed();
    await p;
    const draining = pool.drain(); // closes it; its close is seen a microtask later
    const next = pool.get("a", 100); // a new slot for the same address, with a dial
    await draining;
    await turn();
    assert.equal(pool.addresses, 1, "the dial under way still holds the address");
    dials[1]!.succeed();
    await next;
  });
});
