/**
 * `logging.middleware` on the paths wrappers never saw, over a real service and the default
 * http broker: a subscriber's failures are logged with the topic and the delivery attempt (at
 * warn or above even for a 4xx, since the broker redelivers or dead-letters the message), a
 * success is quiet at the default level, the publisher's request id reaches the subscriber's
 * lines, and a publish and a client stream's end are logged.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { createLogging } from "@tsmicro/logging";
import {
  background,
  badRequest,
  type Client,
  createMemoryRegistry,
  defineContract,
  implement,
  internalServerError,
  type MicroService,
  newClient,
  newMessage,
  newService,
  serverStream,
  withMetadata,
  withTimeout,
} from "tsmicro";
import { waitFor } from "tsmicro/testing";

/** A pino destination that keeps the parsed lines. */
function capture() {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n")) if (l.trim() !== "") lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, stream };
}

const Ticks = defineContract("Ticks", { run: serverStream<{ n: number; fail?: boolean }, { i: number }>() });
const id = randomUUID().slice(0, 8);
const name = `logging-mw-${id}`;
const topic = `logging.mw.${id}`;
const registry = createMemoryRegistry();
const out = capture();
const logging = createLogging({ destination: out.stream }); // the default level: warn
const debugOut = capture();
const debugLogging = createLogging({ level: "debug", destination: debugOut.stream });
let service: MicroService;
let client: Client;
let debugClient: Client;
const handled: { n: number; attempt: number }[] = [];

before(async () => {
  service = newService({ name, registry, middleware: [logging.middleware] })
    .handle(
      implement(Ticks, {
        async *run(_ctx, req) {
          for (let i = 0; i < req.n; i++) yield { i };
          if (req.fail) throw internalServerError(name, "ticks broke");
        },
      }),
    )
    .subscribe(topic, (_ctx, payload: { n: number; failTimes?: number; bad?: boolean }, event) => {
      if (payload.bad) throw badRequest(name, "cannot use this message");
      if (event.attempt <= (payload.failTimes ?? 0)) throw new Error(`delivery ${event.attempt} fails`);
      handled.push({ n: payload.n, attempt: event.attempt });
    });
  await service.start();
  client = newClient({ registry, middleware: [logging.middleware] });
  debugClient = newClient({ registry, middleware: [debugLogging.middleware] });
});

after(async () => {
  await client.close();
  await debugClient.close();
  await service.stop();
});

const ctx = () => withTimeout(background(), 5000);

test("a subscriber's failures are logged with topic and attempt; its success after them is quiet at warn", async () => {
  const reqId = `req-${id}`;
  await client.publish(
    withMetadata(ctx(), { "x-request-id": reqId }),
    newMessage(topic, { n: 1, failTimes: 2 }),
  );
  await waitFor("the message handled on its third delivery", 10_000, async () =>
    handled.find((h) => h.n === 1),
  );
  // The publisher's request id travelled in the message headers to the subscriber's lines.
  const failures = out.lines.filter((l) => l.msg === "subscriber failed" && l.reqId === reqId);
  assert.deepEqual(
    failures.map((l) => [l.level, l.side, l.service, l.topic, l.attempt, l.code, l.err.detail]),
    [
      [50, "subscriber", name, topic, 1, 500, "delivery 1 fails"],
      [50, "subscriber", name, topic, 2, 500, "delivery 2 fails"],
    ],
  );
  assert.equal(failures[0]!.messageId, failures[1]!.messageId, "both lines name the one message");
  assert.match(failures[0]!.messageId, /^[0-9a-f-]{36}$/);
  assert.equal(handled.find((h) => h.n === 1)!.attempt, 3);
  assert.equal(
    out.lines.filter((l) => l.msg === "message handled").length,
    0,
    "successes are debug lines, below the default level",
  );
});

test("a 4xx failure is logged at warn (it is dead-lettered, an operator should see it), once", async () => {
  await client.publish(ctx(), newMessage(topic, { n: 2, bad: true }));
  const line = await waitFor("the bad message's failure line", 10_000, async () =>
    out.lines.find((l) => l.msg === "subscriber failed" && l.code === 400),
  );
  assert.equal(line.level, 40);
  assert.equal(line.topic, topic);
  assert.equal(line.attempt, 1);
  assert.equal(out.lines.filter((l) => l.code === 400).length, 1, "a 4xx is not redelivered: one line");
});

test("at debug: the publish and a client stream's end are logged", async () => {
  const reqId = `dbg-${id}`;
  await debugClient.publish(withMetadata(ctx(), { "x-request-id": reqId }), newMessage(topic, { n: 3 }));
  await waitFor("message 3 handled", 10_000, async () => handled.find((h) => h.n === 3));
  const published = debugOut.lines.find((l) => l.msg === "published" && l.reqId === reqId);
  assert.ok(published, `a "published" line with the request id: ${JSON.stringify(debugOut.lines)}`);
  assert.equal(published.topic, topic);

  const s = debugClient.service(Ticks, name).run(ctx(), { n: 2, fail: true });
  await assert.rejects(
    (async () => {
      for await (const _ of s);
    })(),
    /ticks broke/,
  );
  const line = await waitFor("the stream's failure line", 5000, async () =>
    debugOut.lines.find((l) => l.msg === "stream failed"),
  );
  assert.deepEqual(
    [line.level, line.side, line.service, line.endpoint, line.stream, line.code],
    [50, "client", name, "Ticks.run", true, 500],
  );
});
