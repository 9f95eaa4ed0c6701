/**
 * `authMiddleware` on the paths wrappers never saw, over real services on loopback TCP and the
 * default http broker: a client stream carries the token and the stream handler sees the
 * account; an expired token on a stream is refused with 401 (and accepted where no auth
 * middleware runs: the negative control); a published message carries the publisher's token to
 * the subscriber, and a message without one is refused with a 401 that sends it to the
 * dead-letter topic, never to the handler.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  background,
  type Client,
  type Context,
  createMemoryRegistry,
  defineContract,
  implement,
  isMicroError,
  newClient,
  newMessage,
  newService,
  serverStream,
  withTimeout,
} from "tsmicro";
import { waitFor } from "tsmicro/testing";
import {
  type Account,
  type Auth,
  accountFromContext,
  authMiddleware,
  createAuth,
  createTokenSource,
  generateKeys,
  type Rule,
  selfIssued,
} from "../src/index.js";

const Feed = defineContract("Feed", {
  whoami: serverStream<{ n: number }, { i: number; id: string; scopes: string[]; token: boolean }>(),
});

const id = randomUUID().slice(0, 8);
const guarded = `auth-mw-guarded-${id}`;
const open = `auth-mw-open-${id}`;
const topic = `auth.mw.${id}`;
const registry = createMemoryRegistry();
const reader: Account = { id: "reporting", scopes: ["orders:read"], metadata: {} };
const rules: Rule[] = [
  { id: "members", resource: { service: "*", endpoint: "*" }, scope: "*", access: "allow" },
];
const cleanups: (() => Promise<void>)[] = [];
let auth: Auth;

const feed = () =>
  implement(Feed, {
    async *whoami(ctx: Context, req) {
      const account = accountFromContext(ctx);
      for (let i = 0; i < req.n; i++) {
        yield {
          i,
          id: account?.id ?? "",
          scopes: [...(account?.scopes ?? [])],
          token: ctx.metadata.authorization !== undefined,
        };
      }
    },
  });

/** A client whose middleware attaches a token of `ttlMs` (negative: already expired). */
function clientWith(ttlMs: number): Client {
  const tokens = createTokenSource({ fetch: selfIssued(auth, reader, { ttlMs }) });
  const c = newClient({ registry, middleware: [authMiddleware({ tokens })] });
  cleanups.push(() => c.close());
  return c;
}

/** Every message of a Feed.whoami stream to `service`, or the error it ended with. */
async function drain(c: Client, service: string, n: number) {
  const got: { i: number; id: string; scopes: string[]; token: boolean }[] = [];
  const s = c.service(Feed, service).whoami(withTimeout(background(), 5000), { n });
  const err = await (async () => {
    for await (const m of s) got.push(m);
  })().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { got, err };
}

const delivered: { n: number; account: string | undefined; token: boolean }[] = [];
const deadLetters: { reason: string; attempt: string }[] = [];

before(async () => {
  auth = createAuth(await generateKeys("EdDSA"));
  const svc = newService({ name: guarded, registry, middleware: [authMiddleware({ auth, rules })] })
    .handle(feed())
    .subscribe(topic, (ctx, payload: { n: number }, event) => {
      delivered.push({
        n: payload.n,
        account: accountFromContext(ctx)?.id,
        token: ctx.metadata.authorization !== undefined || event.message.headers.authorization !== undefined,
      });
    });
  // No auth middleware: the negative control's service, and the dead-letter topic's watcher.
  const plain = newService({ name: open, registry })
    .handle(feed())
    .subscribe(`${topic}.dlq`, (ctx) => {
      deadLetters.push({
        reason: ctx.metadata["micro-dead-letter-reason"] ?? "",
        attempt: ctx.metadata["micro-attempt"] ?? "",
      });
    });
  await svc.start();
  cleanups.push(() => svc.stop());
  await plain.start();
  cleanups.push(() => plain.stop());
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("auth middleware on streams", () => {
  test("a client stream carries the token: the stream handler sees the account's claims, not the token", async () => {
    const { got, err } = await drain(clientWith(60_000), guarded, 3);
    assert.equal(err, undefined, `the stream failed: ${String(err)}`);
    assert.deepEqual(
      got.map((m) => [m.i, m.id, m.scopes.join(" "), m.token]),
      [
        [0, "reporting", "orders:read", false],
        [1, "reporting", "orders:read", false],
        [2, "reporting", "orders:read", false],
      ],
    );
  });

  test("an expired token on a stream is refused with 401 before the handler sends anything", async () => {
    const { got, err } = await drain(clientWith(-60_000), guarded, 3);
    assert.deepEqual(got, [], "the refused stream delivered data");
    assert.ok(isMicroError(err), `expected a MicroError, got ${String(err)}`);
    assert.equal(err.code, 401);
    assert.match(
      err.detail,
      new RegExp(`call to ${guarded}\\.Feed\\.whoami refused: invalid token: it has expired`),
    );
  });

  test("negative control: without auth middleware on the service, the same expired token's stream is accepted", async () => {
    const { got, err } = await drain(clientWith(-60_000), open, 2);
    assert.equal(err, undefined, `the stream failed: ${String(err)}`);
    assert.deepEqual(
      got.map((m) => m.i),
      [0, 1],
    );
    assert.equal(got[0]!.token, true, "the token reached the unguarded handler (the client did attach it)");
  });
});

describe("auth middleware on pub/sub", () => {
  test("a published message carries the publisher's token; the subscriber sees the account, not the token", async () => {
    await clientWith(60_000).publish(withTimeout(background(), 5000), newMessage(topic, { n: 1 }));
    const got = await waitFor("the signed message at the subscriber", 5000, async () =>
      delivered.find((d) => d.n === 1),
    );
    assert.deepEqual(got, { n: 1, account: "reporting", token: false });
  });

  test("a message without a token is refused with 401 and dead-lettered with the reason, never handled", async () => {
    const anonymous = newClient({ registry });
    cleanups.push(() => anonymous.close());
    await anonymous.publish(withTimeout(background(), 5000), newMessage(topic, { n: 2 }));
    const dead = await waitFor(
      "the unsigned message on the dead-letter topic",
      5000,
      async () => deadLetters[0],
    );
    assert.match(
      dead.reason,
      new RegExp(
        `message on "${topic.replace(/\./g, "\\.")}" for ${guarded} refused: it needs a token and none was sent`,
      ),
    );
    assert.equal(dead.attempt, "1", "a 401 is not redelivered: retrying cannot make the message signed");
    assert.equal(delivered.filter((d) => d.n === 2).length, 0, "the handler never saw the unsigned message");
  });

  test("an expired token on a message is refused the same way", async () => {
    await clientWith(-60_000).publish(withTimeout(background(), 5000), newMessage(topic, { n: 3 }));
    const dead = await waitFor(
      "the expired message on the dead-letter topic",
      5000,
      async () => deadLetters[1],
    );
    assert.match(dead.reason, /refused: invalid token: it has expired/);
    assert.equal(delivered.filter((d) => d.n === 3).length, 0);
  });
});
