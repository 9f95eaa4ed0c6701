/**
 * Client and bidi streams across the stacks, against go-micro v4.10.2 processes found through
 * etcd and through the NATS registry. go-micro's server reads a `Micro-Error: EOS` message as
 * the end of the caller's side (Recv returns io.EOF), so tsmicro clients can half-close to
 * go-micro services and get the answers, but go-micro's server then never sends its own end
 * of stream. go-micro v4's client cannot half-close: its CloseSend is "not implemented", so a
 * go-micro client stream to tsmicro never gets its answer; only Close (which ends the whole
 * stream) ends the handler's input. Lock-step bidi streams (send, receive, ..., Close) work
 * both ways.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startEtcd } from "@tsmicro/etcd/testing";
import {
  background,
  bidiStream,
  clientStream,
  defineContract,
  implement,
  MicroError,
  newClient,
  newRequest,
  newService,
  withTimeout,
} from "tsmicro";
import { waitFor } from "tsmicro/testing";
import {
  createGoMicroEtcdRegistry,
  createGoMicroNatsRegistry,
  createGoMicroTransport,
} from "../src/index.js";
import { buildGoPrograms, type GoProcess, startGo } from "../src/testing/index.js";
import { goCall, uniqueName } from "./harness/fleet.js";

const build = await buildGoPrograms();
const etcd = await startEtcd({ private: true });
after(() => etcd.stop());
const NATS = process.env.TSMICRO_TEST_NATS ?? "127.0.0.1:4222";
// Both of go-micro's registries the fleet may use: the wire does not depend on it, discovery does.
// A NATS lookup gathers the replies within queryTimeoutMs: 500 ms leaves a loaded machine time
// to answer (the default 100 ms does not always).
const registries = [
  {
    name: "etcd",
    flags: ["-registry", "etcd", "-registry_address", etcd.endpoint],
    create: () => createGoMicroEtcdRegistry({ endpoints: etcd.endpoint }),
  },
  {
    name: "NATS",
    flags: ["-registry", "nats", "-registry_address", NATS],
    create: () => createGoMicroNatsRegistry({ servers: NATS, queryTimeoutMs: 500 }),
  },
];

type Msg = { n: number; msg: string };

const Streams = defineContract("Greeter", {
  Collect: clientStream<Msg, { count: number; names?: string[] }>({}),
  Chat: bidiStream<Msg, Msg>({}),
});

for (const r of registries) {
  const flags = r.flags;
  describe(`tsmicro client -> go-micro Greeter, client and bidi streams (${r.name})`, () => {
    const name = uniqueName("go-greeter");
    const registry = r.create();
    const client = newClient({ registry, transport: createGoMicroTransport(), retries: 0 });
    let greeter: GoProcess;
    before(async () => {
      greeter = startGo(build, "greeter", [...flags, "-name", name]);
      await greeter.json("the go-micro greeter to register", 20_000, (v) => "listening" in v);
    });
    after(async () => {
      await greeter.kill();
      await client.close();
      await registry.close();
    });

    // go-micro v4.10.2's server sends its end of stream (Micro-Error: EOS) only when the
    // handler returns before its input ended: after the caller's EOS, a handler that returns nil
    // ends the stream with nothing (rpc_router.go: a stream whose Recv saw io.EOF returns nil).
    // So the answers arrive, and the end never does: the caller stops at its deadline or closes.
    test("client stream: closeSend reaches go-micro's handler as io.EOF and its answer comes back; go-micro never sends the end", async () => {
      const s = await client.stream<Msg, { count: number; names: string[] }>(
        withTimeout(background(), 1500),
        newRequest(name, "Greeter.Collect", undefined),
      );
      for (let n = 0; n < 3; n++) await s.send({ n, msg: `m${n}` });
      s.closeSend();
      assert.deepEqual(await s.recv(), { count: 3, names: ["m0", "m1", "m2"] });
      const t0 = Date.now();
      const end = await s.recv().then(
        (v) => assert.fail(`go-micro sent an end of stream (or ${JSON.stringify(v)})`),
        (e: unknown) => e as MicroError,
      );
      assert.ok(end instanceof MicroError, String(end));
      assert.equal(end.code, 408, end.detail);
      assert.ok(Date.now() - t0 < 3000, `the deadline took ${Date.now() - t0} ms`);
    });

    test("client stream through a typed contract: the answer is the call's result", async () => {
      const greeter = client.service(Streams, name);
      const rsp = await greeter.Collect(withTimeout(background(), 5000), [
        { n: 0, msg: "a" },
        { n: 1, msg: "b" },
      ]);
      assert.deepEqual(rsp, { count: 2, names: ["a", "b"] });
    });

    test("bidi stream: answers interleave with sends; after closeSend go-micro never sends the end", async () => {
      const s = await client.stream<Msg, Msg>(
        withTimeout(background(), 1500),
        newRequest(name, "Greeter.Chat", undefined),
      );
      const got: Msg[] = [];
      for (let n = 0; n < 3; n++) {
        await s.send({ n, msg: `m${n}` });
        got.push((await s.recv())!);
      }
      assert.deepEqual(
        got,
        [0, 1, 2].map((n) => ({ n, msg: `go-micro heard m${n}` })),
      );
      s.closeSend();
      const end = await s.recv().then(
        (v) => assert.fail(`go-micro sent an end of stream (or ${JSON.stringify(v)})`),
        (e: unknown) => e as MicroError,
      );
      assert.equal(end.code, 408, end.detail);
    });
  });

  describe(`go-micro client -> tsmicro Greeter, client and bidi streams (${r.name})`, () => {
    const name = uniqueName("ts-greeter");
    const registry = r.create();
    const collected: Msg[] = [];
    let collectEnded = false;
    const service = newService({ name, registry, transport: createGoMicroTransport() });
    service.handle(
      implement(Streams, {
        Collect: async (_ctx, reqs) => {
          for await (const m of reqs) collected.push(m);
          collectEnded = true;
          return { count: collected.length };
        },
        async *Chat(_ctx, reqs) {
          for await (const m of reqs) yield { n: m.n, msg: `tsmicro heard ${m.msg}` };
        },
      }),
    );
    before(() => service.start());
    after(async () => {
      await service.stop();
      await registry.close();
    });

    test("client stream: go-micro's CloseSend is not implemented, so the answer never comes; Close ends the handler's input", async () => {
      const caller = startGo(build, "caller", [
        ...flags,
        "-service",
        name,
        "-case",
        "collect",
        "-count",
        "3",
        "-name",
        "Gopher",
        "-recv_wait",
        "1s",
      ]);
      try {
        const r = await caller.json<{ ok: boolean; response: Record<string, unknown> }>(
          "the go-micro caller's collect result",
          20_000,
          (v) => "case" in v,
        );
        assert.equal(r.ok, true);
        // What go-micro v4.10.2 says, and what its caller sees: no answer within the bound.
        assert.equal(r.response.closeSendError, "streamer not implemented");
        assert.equal(r.response.recvTimedOut, true);
        // tsmicro's handler has every message and is still waiting for the end of the input.
        assert.deepEqual(
          collected.map((m) => m.n),
          [0, 1, 2],
        );
        assert.equal(collectEnded, false);
        // go-micro's Close sends EOS and drops the socket: the handler's input ends.
        await caller.json("the go-micro caller to Close its stream", 10_000, (v) => "closed" in v);
        await waitFor("the tsmicro handler's input to end after go-micro's Close", 5000, async () =>
          collectEnded ? true : undefined,
        );
      } finally {
        await caller.kill();
      }
    });

    test("bidi stream in lock step (send, recv, ..., Close): every answer arrives", async () => {
      const r = await goCall(build, [
        ...flags,
        "-service",
        name,
        "-case",
        "chat",
        "-count",
        "3",
        "-name",
        "Gopher",
      ]);
      assert.equal(r.ok, true, r.raw);
      assert.deepEqual(
        r.messages,
        [0, 1, 2].map((n) => ({ n, msg: "tsmicro heard Gopher" })),
      );
    });
  });
}
