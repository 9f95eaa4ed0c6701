/**
 * Pinned behaviours of the one address module (transport/address.ts): the `host:port` parser and
 * its errors, bracketed IPv6, every spelling of a wildcard, the link-local ranges, which interface
 * a wildcard bind registers, the http broker's defaults next to a service, the errors' ids and
 * option names, and `listenAt` (the bound port, the backlog, a failed bind).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import {
  advertisedAddress,
  brokerDefaultsFor,
  ENV_BROKER_ADVERTISE,
  ENV_SERVER_ADDRESS,
  ENV_SERVER_ADVERTISE,
  interfaceHost,
  isWildcardHost,
  joinHostPort,
  listenAt,
  parseAddress,
} from "../../src/transport/address.js";
import { loopbackOnly, v4, v6 } from "../support/interfaces.js";

const thrown = (fn: () => unknown): MicroError => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MicroError, `a MicroError, got ${String(e)}`);
    return e;
  }
  assert.fail("no error thrown");
};

describe("addresses (pinned)", { timeout: 10_000 }, () => {
  it("parses host:port, bracketed IPv6 and an empty host (127.0.0.1)", () => {
    assert.deepEqual(parseAddress("10.0.0.1:80"), { host: "10.0.0.1", port: 80 });
    assert.deepEqual(parseAddress("[fd00::1]:0"), { host: "fd00::1", port: 0 });
    assert.deepEqual(parseAddress("[::]:65535"), { host: "::", port: 65535 });
    assert.deepEqual(parseAddress(":9"), { host: "127.0.0.1", port: 9 });
    assert.deepEqual(parseAddress("[]:9"), { host: "127.0.0.1", port: 9 });
    assert.deepEqual(parseAddress("svc.local:443"), { host: "svc.local", port: 443 });
    // As in Go's net.Listen, an empty port is port 0.
    assert.deepEqual(parseAddress("svc.local:"), { host: "svc.local", port: 0 });
    // Only brackets that wrap the host are stripped.
    assert.deepEqual(parseAddress("a[b:1"), { host: "a[b", port: 1 });
    assert.deepEqual(parseAddress("a]b:1"), { host: "a]b", port: 1 });
  });

  it("the environment variables keep go-micro's names", () => {
    assert.equal(ENV_SERVER_ADDRESS, "MICRO_SERVER_ADDRESS");
    assert.equal(ENV_SERVER_ADVERTISE, "MICRO_SERVER_ADVERTISE");
    assert.equal(ENV_BROKER_ADVERTISE, "MICRO_BROKER_ADVERTISE");
  });

  it("a missing or invalid port is a 400 that quotes the address and names what it is", () => {
    const none = thrown(() => parseAddress("localhost", "the broker's address"));
    assert.equal(none.code, 400);
    assert.equal(none.id, "tsmicro");
    assert.equal(none.detail, 'the broker\'s address "localhost" is not host:port');
    assert.equal(thrown(() => parseAddress("nohost")).detail, 'address "nohost" is not host:port');
    for (const bad of ["h:65536", "h:-1", "h:1.5", "h:x"]) {
      const e = thrown(() => parseAddress(bad));
      assert.equal(e.code, 400, bad);
      assert.equal(e.detail, `address "${bad}" has no valid port`);
      assert.equal(e.id, "tsmicro");
    }
  });

  it("joins a host and port, bracketing IPv6", () => {
    assert.equal(joinHostPort("10.0.0.1", 5), "10.0.0.1:5");
    assert.equal(joinHostPort("fd00::1", "6"), "[fd00::1]:6");
    assert.equal(joinHostPort("svc", 0), "svc:0");
  });

  it("every spelling of a wildcard, bracketed or not; nothing else", () => {
    for (const h of ["", "0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0", "[0:0:0:0:0:0:0:0]", "[]"]) {
      assert.equal(isWildcardHost(h), true, h);
    }
    // Brackets are stripped only where they wrap the host: "]::" and "::[" are not "::".
    for (const h of [
      "0.0.0.1",
      "::1",
      "[::1]",
      ":::",
      "x0.0.0.0",
      "0.0.0.0x",
      "[::]x",
      "localhost",
      "]::",
      "::[",
    ]) {
      assert.equal(isWildcardHost(h), false, h);
    }
  });

  it("a wildcard bind skips internal and link-local interfaces (169.254/16, fe80::/10), IPv4 first", () => {
    const linkLocal6 = ["fe80::1", "FE80::2", "fe9a::3", "feab::4", "febf::5"];
    const interfaces = () => ({
      lo: [v4("10.9.9.9", true), v6("fd00::9", true)],
      down: undefined,
      eth0: [...linkLocal6.map((a) => v6(a)), v4("169.254.0.1"), v6("fec0::1"), v4("169.25.0.1")],
    });
    assert.equal(interfaceHost(false, interfaces), "169.25.0.1", "169.25.x is not link-local");
    const v6only = () => ({ eth0: [...linkLocal6.map((a) => v6(a)), v6("fec0::1")] });
    assert.equal(interfaceHost(true, v6only), "fec0::1", "fec0:: is past the link-local range");
    assert.equal(interfaceHost(false, v6only), undefined, "no IPv6 for an IPv4 bind");
    assert.equal(interfaceHost(true, loopbackOnly), undefined);
    assert.equal(
      interfaceHost(true, () => ({ eth0: [v6("fe80::1"), v6("2001:db8::5"), v6("2001:db8::6")] })),
      "2001:db8::5",
    );
    assert.equal(
      interfaceHost(true, () => ({ eth0: [v6("2001:db8:fe80::1")] })),
      "2001:db8:fe80::1",
      "fe80 inside a global address is not link-local",
    );
  });

  it("a wildcard bind with nothing to register is a 500 from tsmicro naming `advertise`, unless told otherwise", () => {
    const e = thrown(() => advertisedAddress("0.0.0.0:7", { interfaces: loopbackOnly }));
    assert.equal(e.id, "tsmicro");
    assert.equal(e.code, 500);
    assert.equal(e.retryable, false);
    assert.equal(
      e.detail,
      "listening on 0.0.0.0:7, but this host has no non-loopback, non-link-local address to register in its place: set advertise to the host:port other hosts dial",
    );
    const named = thrown(() =>
      advertisedAddress("[::]:7", { interfaces: loopbackOnly, id: "orders", option: "X" }),
    );
    assert.equal(named.id, "orders");
    assert.match(named.detail, /: set X to/);
  });

  it("advertise: trimmed, blank ignored, a wildcard refused (400, not retryable, with the id and option)", () => {
    const o = { interfaces: () => ({ eth0: [v4("10.1.1.1")] }) };
    assert.equal(advertisedAddress("127.0.0.1:4", { ...o, advertise: "  svc.internal  " }), "svc.internal:4");
    assert.equal(advertisedAddress("127.0.0.1:4", { ...o, advertise: "   " }), "127.0.0.1:4");
    assert.equal(advertisedAddress("0.0.0.0:4", { ...o, advertise: "" }), "10.1.1.1:4");
    assert.equal(advertisedAddress("0.0.0.0:4", { ...o, advertise: "[fd00::2]" }), "[fd00::2]:4");
    assert.equal(
      advertisedAddress("0.0.0.0:4", { ...o, advertise: "fd00::2:80" }),
      "[fd00::2:80]:4",
      "unbracketed IPv6 is a bare host",
    );
    for (const w of ["0.0.0.0", "[::]:9", "::"]) {
      const e = thrown(() =>
        advertisedAddress("127.0.0.1:4", { ...o, advertise: w, id: "orders", option: "OPT" }),
      );
      assert.equal(e.code, 400, w);
      assert.equal(e.id, "orders");
      assert.equal(e.retryable, false);
      assert.equal(e.detail, `OPT is "${w}", a wildcard no other host can dial: give this host's name or IP`);
    }
    assert.match(
      thrown(() => advertisedAddress("127.0.0.1:4", { advertise: "0.0.0.0" })).detail,
      /^advertise is /,
    );
  });

  it("advertise: every accepted form, and anything else a 400 naming the option and the forms", () => {
    const o = { interfaces: () => ({ eth0: [v4("10.1.1.1")] }) };
    const cases: [string, string][] = [
      ["svc", "svc:4"],
      ["svc:80", "svc:80"],
      ["10.0.0.2:0", "10.0.0.2:0"],
      ["10.0.0.2:65535", "10.0.0.2:65535"],
      ["[fd00::2]:80", "[fd00::2]:80"],
      ["[fe80::1%eth0]", "[fe80::1%eth0]:4"],
      ["::ffff:10.0.0.2", "[::ffff:10.0.0.2]:4"],
    ];
    for (const [advertise, want] of cases) {
      assert.equal(advertisedAddress("127.0.0.1:4", { ...o, advertise }), want, advertise);
    }
    const bad = [
      "svc:80x",
      "svc:",
      "svc:65536",
      "svc:123456",
      "[svc]:80",
      "[fd00::2]x",
      "x[fd00::2]:80",
      "[fd00::2]:80x",
      "a b",
      "[]",
      "svc]:1",
      "sv[c",
    ];
    for (const advertise of bad) {
      const e = thrown(() =>
        advertisedAddress("127.0.0.1:4", { ...o, advertise, id: "orders", option: "OPT" }),
      );
      assert.equal(e.code, 400, advertise);
      assert.equal(e.id, "orders");
      assert.equal(e.retryable, false);
      assert.equal(
        e.detail,
        `OPT is "${advertise}": give a host, host:port (port 0–65535), [IPv6] or [IPv6]:port`,
      );
      // Next to a service, the broker leaves a malformed advertise to the service's start.
      assert.deepEqual(brokerDefaultsFor(undefined, advertise), {}, advertise);
    }
  });

  it("the http broker next to a service: a wildcard bind shared on port 0, an advertised host shared without its port", () => {
    assert.deepEqual(brokerDefaultsFor(undefined, undefined), {});
    assert.deepEqual(brokerDefaultsFor("127.0.0.1:80", undefined), {});
    assert.deepEqual(brokerDefaultsFor("0.0.0.0:80", undefined), { address: "0.0.0.0:0" });
    assert.deepEqual(brokerDefaultsFor("[::]:80", " "), { address: "[::]:0" });
    assert.deepEqual(brokerDefaultsFor(undefined, " svc.internal:443 "), { advertise: "svc.internal" });
    assert.deepEqual(brokerDefaultsFor(undefined, "[fd00::3]:443"), { advertise: "fd00::3" });
    assert.deepEqual(brokerDefaultsFor(undefined, "fd00::3"), { advertise: "fd00::3" });
    assert.deepEqual(brokerDefaultsFor("127.0.0.1:1", "10.0.0.4"), { advertise: "10.0.0.4" });
  });

  it("listenAt resolves with the bound port (IPv6 bracketed), passes the backlog, and rejects a failed bind", async () => {
    const servers: Server[] = [];
    try {
      const a = createServer();
      servers.push(a);
      const bound = await listenAt(a, "127.0.0.1:0");
      assert.match(bound, /^127\.0\.0\.1:\d+$/);
      assert.notEqual(bound, "127.0.0.1:0");
      assert.equal(a.listenerCount("error"), 0, "the bind's error listener is removed");

      const b = createServer();
      servers.push(b);
      const e = await listenAt(b, bound, "the taken address").then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.equal((e as NodeJS.ErrnoException | undefined)?.code, "EADDRINUSE");

      const c = createServer();
      servers.push(c);
      assert.match(await listenAt(c, "[::1]:0").catch(() => "[::1]:1"), /^\[::1\]:\d+$/);

      const asked: unknown[] = [];
      const fake = {
        listen(o: unknown, cb: () => void) {
          asked.push(o);
          cb();
        },
        once() {},
        off() {},
        address: () => "/a/pipe",
      } as unknown as Server;
      assert.equal(
        await listenAt(fake, "127.0.0.1:5", "x", 7),
        "127.0.0.1:5",
        "a non-TCP address: the one asked",
      );
      await listenAt(fake, "127.0.0.1:6");
      assert.deepEqual(asked, [
        { host: "127.0.0.1", port: 5, backlog: 7 },
        { host: "127.0.0.1", port: 6 },
      ]);
      await assert.rejects(listenAt(fake, "nope", "the gateway's address"), /the gateway's address "nope"/);
      await assert.rejects(
        listenAt(fake, "nope"),
        (e: MicroError) => e.detail === 'address "nope" is not host:port',
      );
    } finally {
      for (const s of servers) s.close();
    }
  });
});
