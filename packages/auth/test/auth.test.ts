/**
 * @tsmicro/auth against real services over loopback TCP: tokens, rules, 401 and 403 with
 * details that name the endpoint and never the token, the account in the handler, nested
 * calls with the service's own identity, and token refresh under load without a failed call.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  background,
  type Context,
  createMemoryRegistry,
  defineContract,
  type HandlerWrapper,
  implement,
  isMicroError,
  type MicroError,
  type MicroService,
  newClient,
  newRequest,
  newService,
  serverStream,
} from "tsmicro";
import {
  type Account,
  type Auth,
  accountFromContext,
  authCallWrapper,
  authHandlerWrapper,
  compileRules,
  createAuth,
  createTokenSource,
  exportKeys,
  generateKeys,
  importKeys,
  type Rule,
  selfIssued,
} from "../src/index.js";

const registry = createMemoryRegistry();
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const reader: Account = { id: "reporting", scopes: ["orders:read"], metadata: { team: "bi" } };
const writer: Account = { id: "checkout", scopes: ["orders:read", "orders:write"], metadata: {} };
const admin: Account = { id: "ops", scopes: ["orders:write", "admin"], metadata: {} };

const rules: Rule[] = [
  { id: "health-is-public", resource: { service: "*", endpoint: "Debug.*" }, scope: "", access: "allow" },
  {
    id: "read",
    resource: { service: "orders", endpoint: "Orders.list" },
    scope: "orders:read",
    access: "allow",
  },
  {
    id: "write",
    resource: { service: "orders", endpoint: "Orders.*" },
    scope: "orders:write",
    access: "allow",
  },
  {
    id: "no-deletes",
    resource: { service: "orders", endpoint: "Orders.delete" },
    scope: "*",
    access: "deny",
    priority: 10,
  },
  {
    id: "admins-delete",
    resource: { service: "orders", endpoint: "Orders.delete" },
    scope: "admin",
    access: "allow",
    priority: 20,
  },
  {
    id: "read-extras",
    resource: { service: "orders", endpoint: "Orders.reserve" },
    scope: "orders:read",
    access: "allow",
  },
  {
    id: "read-slow",
    resource: { service: "orders", endpoint: "Orders.slow" },
    scope: "orders:read",
    access: "allow",
  },
  { id: "stock-for-all", resource: { service: "stock", endpoint: "*" }, scope: "*", access: "allow" },
];

async function failure(p: Promise<unknown>): Promise<MicroError> {
  try {
    await p;
  } catch (err) {
    assert.ok(isMicroError(err), `expected a MicroError, got ${String(err)}`);
    return err;
  }
  assert.fail("the call succeeded but should have been refused");
}

describe("tokens", () => {
  for (const algorithm of ["EdDSA", "ES256"] as const) {
    test(`${algorithm}: an account signs into a token and verifies back; a verifier needs only the public key`, async () => {
      const pair = await generateKeys(algorithm);
      const issuer = createAuth({ ...pair });
      const token = await issuer.generate(reader, { ttlMs: 60_000 });
      assert.ok(token.expiresAt > Date.now() + 55_000 && token.expiresAt <= Date.now() + 60_000);
      const pem = await exportKeys(pair);
      const verifier = createAuth(await importKeys(algorithm, { publicKey: pem.publicKey }));
      assert.deepEqual(
        { ...(await verifier.inspect(token.accessToken)) },
        { ...reader, scopes: reader.scopes },
      );
      await assert.rejects(verifier.generate(reader), /needs the private key/);
    });
  }

  test("tampered, foreign-key, expired and wrong-audience tokens are 401s saying why, never quoting the token", async () => {
    const pair = await generateKeys();
    const auth = createAuth({ ...pair, clockToleranceSec: 0 });
    const good = (await auth.generate(reader)).accessToken;
    const [h, p, s] = good.split(".");
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: "root", scope: "admin", exp: 9e9 })).toString("base64url")}.${s}`;
    const foreign = (await createAuth({ ...(await generateKeys()) }).generate(reader)).accessToken;
    const expired = (await auth.generate(reader, { ttlMs: -10_000 })).accessToken;
    const otherAudience = (await createAuth({ ...pair, audience: "elsewhere" }).generate(reader)).accessToken;
    const cases: [string, string, RegExp][] = [
      ["tampered", tampered, /signature does not verify/],
      ["foreign", foreign, /signature does not verify/],
      ["expired", expired, /it has expired/],
      ["audience", otherAudience, /"aud" claim is not accepted/],
      ["garbage", "not.a.jwt", /malformed|cannot be verified/],
    ];
    for (const [name, token, why] of cases) {
      const err = await failure(auth.inspect(token));
      assert.equal(err.code, 401, name);
      assert.match(err.detail, why, name);
      assert.ok(
        !err.detail.includes(token) && !err.detail.includes(p!),
        `${name}: the detail quotes the token`,
      );
    }
  });
});

describe("rules", () => {
  const check = compileRules(rules);
  const at = (endpoint: string, service = "orders") => ({ service, endpoint });
  test("wildcards, scopes, priority, public and no-match", () => {
    assert.equal(check(reader, at("Orders.list")).access, "allow");
    assert.equal(check(reader, at("Orders.create")).access, "deny");
    assert.equal(check(reader, at("Orders.create")).rule, undefined, "no rule should match");
    assert.equal(check(writer, at("Orders.create")).access, "allow");
    assert.equal(check(writer, at("Orders.delete")).rule?.id, "no-deletes");
    assert.equal(check(admin, at("Orders.delete")).rule?.id, "admins-delete");
    assert.equal(check(undefined, at("Debug.Health")).access, "allow");
    assert.equal(check(undefined, at("Orders.list")).access, "deny");
    assert.equal(check(reader, at("Stock.get", "stock")).access, "allow");
    assert.equal(check(undefined, at("Stock.get", "stock")).access, "deny");
  });
  test("on equal priority deny wins; a pattern matches whole names only", () => {
    const tie = compileRules([
      { id: "a", resource: { service: "s", endpoint: "*" }, scope: "*", access: "allow" },
      { id: "d", resource: { service: "s", endpoint: "*" }, scope: "*", access: "deny" },
    ]);
    assert.equal(tie(reader, { service: "s", endpoint: "X.y" }).rule?.id, "d");
    assert.equal(check(writer, at("Orders.list", "orders-v2")).access, "deny");
  });
});

describe("service auth over TCP", () => {
  let auth: Auth;
  let orders: MicroService;
  let stock: MicroService;
  const seenTokens = new Set<string>();
  const failures: unknown[] = [];

  const client = (account: Account | undefined, ttlMs = 60_000) => {
    const wrappers =
      account === undefined
        ? []
        : [authCallWrapper(createTokenSource({ fetch: selfIssued(auth, account, { ttlMs }) }))];
    const c = newClient({ registry, retries: 0, wrappers });
    cleanups.push(() => c.close());
    return c;
  };

  before(async () => {
    const pair = await generateKeys("EdDSA");
    auth = createAuth({ ...pair, clockToleranceSec: 0 });
    // Records the tokens as they arrive, outside the auth wrapper (tests only).
    const spy: HandlerWrapper = (next) => (ctx, req) => {
      if (req.metadata.authorization !== undefined) seenTokens.add(req.metadata.authorization);
      return next(ctx, req);
    };
    const guard = authHandlerWrapper({ auth, rules });
    stock = newService({ name: "stock", registry, wrappers: [guard] }).handle(
      new (class Stock {
        async get(ctx: Context) {
          return { caller: accountFromContext(ctx)?.id, forwarded: ctx.metadata.authorization ?? null };
        }
      })(),
    );
    const ordersClient = client({ id: "orders", scopes: ["stock:read"], metadata: {} });
    orders = newService({ name: "orders", registry, wrappers: [spy, guard], client: ordersClient }).handle(
      new (class Orders {
        async list(ctx: Context) {
          return { caller: accountFromContext(ctx)?.id, token: ctx.metadata.authorization ?? null };
        }
        async create() {
          return { created: true };
        }
        async delete() {
          return { deleted: true };
        }
        async reserve(ctx: Context) {
          return ordersClient.call(ctx, newRequest("stock", "Stock.get", {}));
        }
        async slow(ctx: Context, req: { ms: number }) {
          await new Promise((r) => setTimeout(r, req.ms));
          return { caller: accountFromContext(ctx)?.id };
        }
      })(),
    );
    await stock.start();
    await orders.start();
    cleanups.push(
      () => stock.stop(),
      () => orders.stop(),
    );
  });

  test("no token: 401 naming the endpoint; the public health endpoint still answers", async () => {
    const anonymous = client(undefined);
    const err = await failure(anonymous.call(background(), newRequest("orders", "Orders.list", {})));
    assert.equal(err.code, 401);
    assert.match(err.detail, /call to orders\.Orders\.list refused: it needs a token and none was sent/);
    const health = await anonymous.call(background(), newRequest("orders", "Debug.Health", {}));
    assert.equal(health.status, "ok");
  });

  test("invalid token: 401 saying why, without the token", async () => {
    const c = client(undefined);
    const bad = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    const err = await failure(
      c.call(background(), newRequest("orders", "Orders.list", {}), {
        metadata: { authorization: `Bearer ${bad}` },
      }),
    );
    assert.equal(err.code, 401);
    assert.match(err.detail, /call to orders\.Orders\.list refused: invalid token: /);
    assert.ok(!err.detail.includes(bad), "the detail quotes the token");
    const notBearer = await failure(
      c.call(background(), newRequest("orders", "Orders.list", {}), {
        metadata: { authorization: "Basic abc" },
      }),
    );
    assert.match(notBearer.detail, /is not "Bearer <token>"/);
  });

  test("rules: allowed calls reach the handler with the account (not the token); denied ones are 403s naming endpoint and rule", async () => {
    const r = client(reader);
    assert.deepEqual(await r.call(background(), newRequest("orders", "Orders.list", {})), {
      caller: "reporting",
      token: null,
    });
    const noRule = await failure(r.call(background(), newRequest("orders", "Orders.create", {})));
    assert.equal(noRule.code, 403);
    assert.match(
      noRule.detail,
      /call to orders\.Orders\.create by account "reporting" refused: no rule allows it/,
    );

    const w = client(writer);
    assert.deepEqual(await w.call(background(), newRequest("orders", "Orders.create", {})), {
      created: true,
    });
    const denied = await failure(w.call(background(), newRequest("orders", "Orders.delete", {})));
    assert.equal(denied.code, 403);
    assert.match(
      denied.detail,
      /call to orders\.Orders\.delete by account "checkout" refused: rule "no-deletes" denies it/,
    );

    const a = client(admin);
    assert.deepEqual(await a.call(background(), newRequest("orders", "Orders.delete", {})), {
      deleted: true,
    });
  });

  // Streams run the handler wrappers when they open, so the same guard covers them.
  test("stream endpoints are guarded too: a stream opened without a token is a 401", async () => {
    const Feed = defineContract("Feed", { secrets: serverStream<Record<string, never>, { n: number }>() });
    const guarded = newService({
      name: "vault",
      registry,
      wrappers: [authHandlerWrapper({ auth, rules: [] })],
    }).handle(
      implement(Feed, {
        async *secrets() {
          yield { n: 42 };
        },
      }),
    );
    await guarded.start();
    cleanups.push(() => guarded.stop());
    const anonymous = client(undefined);
    const got: unknown[] = [];
    const err = await (async () => {
      const s = await anonymous.stream(background(), {
        service: "vault",
        endpoint: "Feed.secrets",
        body: {},
      });
      for await (const m of s) got.push(m);
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.deepEqual(got, [], "a stream without a token delivered data");
    assert.ok(isMicroError(err) && err.code === 401, `expected a 401, got ${String(err)}`);
  });

  test("nested calls go out with the service's own token, never the caller's", async () => {
    const r = client(reader);
    const out = await r.call(background(), newRequest("orders", "Orders.reserve", {}));
    assert.equal(out.caller, "orders");
    assert.equal(out.forwarded, null);
  });

  test("token expiry and refresh under load: no call fails, long calls outlive their token", async () => {
    seenTokens.clear();
    // 3 s tokens refreshed 1.5 s before expiry; 7 s of short calls and 1.2 s calls.
    const source = createTokenSource({
      fetch: selfIssued(auth, reader, { ttlMs: 3000 }),
      refreshBeforeMs: 1500,
    });
    const c = newClient({ registry, retries: 0, wrappers: [authCallWrapper(source)] });
    cleanups.push(() => c.close());
    const end = Date.now() + 7000;
    let ok = 0;
    const loop = async (endpoint: string, body: object) => {
      while (Date.now() < end) {
        try {
          await c.call(background(), newRequest("orders", endpoint, body), { requestTimeoutMs: 5000 });
          ok++;
        } catch (err) {
          failures.push(err);
        }
      }
    };
    await Promise.all([
      loop("Orders.list", {}),
      loop("Orders.list", {}),
      loop("Orders.slow", { ms: 1200 }),
      loop("Orders.slow", { ms: 1200 }),
    ]);
    assert.deepEqual(failures.map(String), [], "calls failed during token refresh");
    assert.ok(ok > 50, `only ${ok} calls completed`);
    assert.ok(source.refreshes >= 3, `only ${source.refreshes} tokens fetched in 7 s of 3 s tokens`);
    assert.ok(seenTokens.size >= 3, `the server saw only ${seenTokens.size} distinct tokens`);
  });

  test("a token that expires on the way is refused before the handler and resent once with a fresh one", async () => {
    const expired = (await auth.generate(reader, { ttlMs: -5000 })).accessToken;
    let fetches = 0;
    // The first token claims a long life (as with a skewed clock) but the server finds it expired.
    const source = createTokenSource({
      fetch: async () =>
        ++fetches === 1 ? { accessToken: expired, expiresAt: Date.now() + 60_000 } : auth.generate(reader),
    });
    const c = newClient({ registry, retries: 0, wrappers: [authCallWrapper(source)] });
    cleanups.push(() => c.close());
    assert.deepEqual(await c.call(background(), newRequest("orders", "Orders.list", {})), {
      caller: "reporting",
      token: null,
    });
    assert.equal(fetches, 2);
    // Negative control: sent directly, without the wrapper's resend, the same token is refused.
    const raw = client(undefined);
    const err = await failure(
      raw.call(background(), newRequest("orders", "Orders.list", {}), {
        metadata: { authorization: `Bearer ${expired}` },
      }),
    );
    assert.match(err.detail, /invalid token: it has expired/);
  });
});
