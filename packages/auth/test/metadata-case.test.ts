/**
 * Metadata keys are case-insensitive on the TCP wire (issue 19): a raw peer that sends
 * `Authorization` (not `authorization`) has its token checked and stripped like anyone else,
 * so a handler — and the nested calls it makes — never sees it.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { type Context, createMemoryRegistry, newService } from "tsmicro";
import {
  encodeFrame,
  FrameType,
  frameError,
  openRaw,
  PREFACE,
  waitUntil,
} from "../../tsmicro/test/support/raw-peer.js";
import { authHandlerWrapper, createAuth, generateKeys, type Rule } from "../src/index.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test("a capitalised Authorization is checked and stripped before the handler", async () => {
  const auth = createAuth(await generateKeys("EdDSA"));
  const rules: Rule[] = [
    { id: "public", resource: { service: "md", endpoint: "Md.seen" }, scope: "", access: "allow" },
  ];
  const service = newService({
    name: "md",
    registry: createMemoryRegistry(),
    wrappers: [authHandlerWrapper({ auth, rules })],
  }).handle(
    new (class Md {
      async seen(ctx: Context) {
        return { keys: Object.keys(ctx.metadata) };
      }
    })(),
  );
  await service.start();
  cleanups.push(() => service.stop());
  const token = (await auth.generate({ id: "caller", scopes: [], metadata: {} })).accessToken;
  const peer = await openRaw(service.address);
  cleanups.push(() => void peer.socket.destroy());
  peer.socket.write(PREFACE);
  const send = (id: number, metadata: Record<string, string>) =>
    peer.socket.write(
      encodeFrame(
        FrameType.Request,
        id,
        JSON.stringify({ s: "md", e: "Md.seen", c: "application/json", m: metadata }),
        Buffer.from("{}"),
      ),
    );
  send(1, { Authorization: `Bearer ${token}`, "X-Trace": "t" });
  send(2, { AUTHORIZATION: "Bearer not-a-token" });
  await waitUntil(() => peer.frames.length === 2, 5000, "two answers");
  const byId = new Map(peer.frames.map((f) => [f.id, f]));
  const ok = byId.get(1)!;
  assert.equal(ok.type, FrameType.Response, ok.body.toString());
  assert.deepEqual(JSON.parse(ok.body.toString()), { keys: ["x-trace"] });
  // A bad token in any spelling is checked: refused, not passed through to the handler.
  const bad = byId.get(2)!;
  assert.equal(bad.type, FrameType.Error, bad.body.toString());
  assert.equal(frameError(bad).code, 401);
});
