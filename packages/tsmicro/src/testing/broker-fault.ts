/**
 * The subscriber-crash test for at-least-once brokers: a subscriber process in a queue group
 * is killed with SIGKILL mid-stream and restarted while messages keep coming; every published
 * message must be handled at least once (counted by id). The same run on a fire-and-forget
 * broker is the negative control: it must report losses, which shows the count can see them.
 *
 *   // the test file
 *   brokerFaultTest("jetstream", { create, subscriber: { args: ["--import", "tsx", "test/fault-subscriber.ts"] } });
 *   // test/fault-subscriber.ts
 *   await runFaultSubscriber(() => createJetStreamBroker({ servers, ackWaitMs: 2000 }));
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { it } from "node:test";
import { type Broker, HEADER } from "../broker/broker.js";

export interface BrokerFaultOptions {
  /** The publisher's broker (in this process). */
  create(): Broker | Promise<Broker>;
  /** How to start a subscriber process (run with `process.execPath`); it calls `runFaultSubscriber`. */
  subscriber: { args: string[]; cwd?: string; env?: Record<string, string> };
  /** Messages published. @default 1000 */
  count?: number;
  /** The first subscriber is killed once it has handled this many. @default count / 4 */
  killAfter?: number;
  /** Milliseconds each handler takes, so that the kill lands mid-stream. @default 2 */
  handlerMs?: number;
  /** Bound on the whole run. @default 60000 */
  timeoutMs?: number;
  /** The broker is fire-and-forget: the run must see losses (the negative control). @default false */
  expectLoss?: boolean;
  cleanup?(topic: string): Promise<void>;
}

export interface FaultCounts {
  published: number;
  handled: number;
  distinct: number;
  redelivered: number;
  lost: number;
}

export function brokerFaultTest(name: string, options: BrokerFaultOptions): void {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const title = options.expectLoss
    ? `negative control on ${name} (fire-and-forget): a subscriber killed mid-stream loses messages and the count shows it`
    : `${name}: a subscriber killed with SIGKILL mid-stream and restarted; every message handled at least once`;
  it(title, { timeout: timeoutMs + 10_000 }, async () => {
    const counts = await runFault(name, options);
    const line = `[fault ${name}] published=${counts.published} handled=${counts.handled} distinct=${counts.distinct} redelivered=${counts.redelivered} lost=${counts.lost}`;
    console.log(line);
    if (options.expectLoss)
      assert.ok(counts.lost > 0, `expected losses on a fire-and-forget broker: ${line}`);
    else assert.equal(counts.lost, 0, line);
  });
}

async function runFault(name: string, options: BrokerFaultOptions): Promise<FaultCounts> {
  const count = options.count ?? 1000;
  const killAfter = options.killAfter ?? Math.floor(count / 4);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const topic = `fault.${name.replace(/[^A-Za-z0-9]/g, "-")}.${randomUUID().slice(0, 8)}`;
  const end = Date.now() + timeoutMs;
  const seen = new Map<string, number>();
  let handled = 0;
  let redelivered = 0;
  const children: ChildProcess[] = [];
  const pub = await options.create();
  const start = (label: string) =>
    startSubscriber(options, topic, label, (id, attempt) => {
      handled++;
      if (attempt > 1) redelivered++;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    });
  try {
    const first = await start("first");
    children.push(first.child);
    let published = 0;
    // Eight publishes in flight: a steady stream that goes on while the subscriber is down.
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < count; i = next++) {
        await pub.publish(
          topic,
          { headers: { [HEADER.id]: `m${i}` }, body: Buffer.from(`m${i}`) },
          { timeoutMs: 10_000 },
        );
        published++;
      }
    };
    const publishing = Promise.all(Array.from({ length: 8 }, worker));
    await until(
      () => first.handled() >= killAfter,
      end,
      () => `the first subscriber to handle ${killAfter} (has ${first.handled()})`,
    );
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    const handledByFirst = first.handled();
    const second = await start("second");
    children.push(second.child);
    await publishing;
    assert.equal(published, count, "every publish resolved");
    assert.ok(
      handledByFirst < count,
      `the kill came mid-stream (first subscriber handled ${handledByFirst} of ${count})`,
    );
    if (options.expectLoss) {
      // Give stragglers a moment, then count what never arrived.
      await new Promise((r) => setTimeout(r, 1000));
    } else {
      await until(
        () => seen.size >= count,
        end,
        () =>
          `all ${count} ids handled (have ${seen.size}; first handled ${handledByFirst}, second ${second.handled()})`,
      );
    }
    return { published, handled, distinct: seen.size, redelivered, lost: count - seen.size };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await pub.disconnect().catch(() => {});
    await options.cleanup?.(topic).catch(() => {});
  }
}

/**
 * A message that kills its subscriber process every time (SIGKILL, no verdict) must still end
 * on the dead-letter topic after `maxDeliver` deliveries: the count survives the processes.
 */
export function brokerCrashLoopTest(
  name: string,
  options: Pick<BrokerFaultOptions, "create" | "subscriber" | "cleanup" | "timeoutMs">,
): void {
  const maxDeliver = 3;
  const timeoutMs = options.timeoutMs ?? 60_000;
  it(`${name}: a message that kills its subscriber each time reaches the dead-letter topic after maxDeliver`, {
    timeout: timeoutMs + 10_000,
  }, async () => {
    const topic = `crash.${name.replace(/[^A-Za-z0-9]/g, "-")}.${randomUUID().slice(0, 8)}`;
    const end = Date.now() + timeoutMs;
    const pub = await options.create();
    const dead: Record<string, string>[] = [];
    const attempts: number[] = [];
    const opts = {
      ...options,
      subscriber: {
        ...options.subscriber,
        env: {
          ...options.subscriber.env,
          TSMICRO_FAULT_POISON: "1",
          TSMICRO_FAULT_MAX_DELIVER: String(maxDeliver),
        },
      },
      handlerMs: 0,
    };
    let child: ChildProcess | undefined;
    try {
      await pub.subscribe(`${topic}.dlq`, (e) => void dead.push(e.message.headers));
      let deaths = 0;
      const exits: string[] = [];
      let lastStderr = () => "";
      const start = async () => {
        const s = await startSubscriber(
          opts,
          topic,
          `subscriber #${deaths + 1}`,
          (id, attempt) => {
            if (id === "poison") attempts.push(attempt);
          },
          deaths > 0,
        );
        child = s.child;
        lastStderr = () => s.stderr().slice(-300);
      };
      await start();
      await pub.publish(topic, { headers: { [HEADER.id]: "poison" }, body: Buffer.from("poison") });
      while (dead.length === 0) {
        if (Date.now() > end)
          throw new Error(
            `timed out waiting for the dead letter (deaths ${deaths}, attempts ${attempts.join(",")})`,
          );
        if (child!.exitCode !== null || child!.signalCode !== null) {
          deaths++;
          exits.push(`${child!.exitCode ?? child!.signalCode}: ${lastStderr()}`);
          assert.ok(
            deaths <= maxDeliver,
            `the subscriber died ${deaths} times (attempts seen ${attempts.join(",")}; exits ${exits.join(" | ")}); the message should have been dead-lettered after ${maxDeliver}`,
          );
          await start();
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      console.log(
        `[crash-loop ${name}] subscriber deaths=${deaths} attempts=${attempts.join(",")} dead-lettered after attempt=${dead[0]![HEADER.attempt]}`,
      );
      assert.equal(deaths, maxDeliver, "one death per delivery");
      assert.deepEqual(attempts, [1, 2, 3], "each delivery counted, across processes");
      assert.equal(dead[0]![HEADER.deadLetterTopic], topic);
      assert.equal(dead[0]![HEADER.attempt], String(maxDeliver));
      assert.match(dead[0]![HEADER.deadLetterReason] ?? "", /without an ack or a nack/);
    } finally {
      if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await pub.disconnect().catch(() => {});
      await options.cleanup?.(topic).catch(() => {});
    }
  });
}

async function startSubscriber(
  options: BrokerFaultOptions,
  topic: string,
  label: string,
  onHandled: (id: string, attempt: number) => void,
  /** A subscriber that dies of the poison before it says ready counts as started (crash loop). */
  earlyDeathIsOk = false,
) {
  const child = spawn(process.execPath, options.subscriber.args, {
    cwd: options.subscriber.cwd,
    env: {
      ...process.env,
      ...options.subscriber.env,
      TSMICRO_FAULT_TOPIC: topic,
      TSMICRO_FAULT_HANDLER_MS: String(options.handlerMs ?? 2),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let n = 0;
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.once("exit", (code, sig) => {
      if (earlyDeathIsOk && sig === "SIGKILL") resolve();
      else
        reject(new Error(`the ${label} subscriber exited (${code ?? sig}) before it was ready: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line === "ready") resolve();
      const m = /^h (\S+) (\d+)$/.exec(line);
      if (m !== null) {
        n++;
        onHandled(m[1]!, Number(m[2]));
      }
    });
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    ready,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the ${label} subscriber was not ready within 20 s: ${stderr}`)),
        20_000,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  return { child, handled: () => n, stderr: () => stderr };
}

/**
 * The subscriber process's side: subscribes to $TSMICRO_FAULT_TOPIC in queue group "fault",
 * prints `ready`, then `h <id> <attempt>` for every message before acking it.
 */
export async function runFaultSubscriber(create: () => Broker | Promise<Broker>): Promise<void> {
  const topic = process.env.TSMICRO_FAULT_TOPIC;
  if (!topic) throw new Error("runFaultSubscriber: TSMICRO_FAULT_TOPIC is not set");
  const handlerMs = Number(process.env.TSMICRO_FAULT_HANDLER_MS ?? 2);
  const poison = process.env.TSMICRO_FAULT_POISON === "1";
  const maxDeliver = Number(process.env.TSMICRO_FAULT_MAX_DELIVER ?? 1000);
  const broker = await create();
  await broker.subscribe(
    topic,
    async (e) => {
      if (handlerMs > 0) await new Promise((r) => setTimeout(r, handlerMs));
      // Synchronous on a pipe: written before the ack, so an acked message is always counted.
      process.stdout.write(`h ${e.message.headers[HEADER.id]} ${e.attempt}\n`);
      // The poison message kills its subscriber, before any ack or nack.
      if (poison && e.message.headers[HEADER.id] === "poison") process.kill(process.pid, "SIGKILL");
    },
    { queue: "fault", maxDeliver },
  );
  process.stdout.write("ready\n");
  process.once("SIGTERM", () => {
    void broker.disconnect().finally(() => process.exit(0));
  });
}

async function until(done: () => boolean, end: number, what: () => string): Promise<void> {
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
