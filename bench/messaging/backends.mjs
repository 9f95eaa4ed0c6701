// Publish/subscribe for each engine, twice: with the raw client library (the limit) and with
// tsmicro (client.publish → broker → service.subscribe, JSON codec). A publisher is
// { publish(text) → Promise, close() }; a subscriber calls onMessage(text) per message.
// Both stacks give the same guarantee per publish: NATS written to the socket, JetStream PubAck,
// Redis XADD / PUBLISH reply, RabbitMQ publisher confirm, HTTP 202 from the subscriber.

import http from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

const root = new URL("../../", import.meta.url);
const fromPackage = (pkg, name) => createRequire(new URL(`packages/${pkg}/package.json`, root)).resolve(name);
const ioredis = async () => (await import(fromPackage("redis", "ioredis"))).Redis;
const amqplib = async () => import(fromPackage("rabbitmq", "amqplib"));

export const NATS = "127.0.0.1:4222";
export const REDIS = "redis://127.0.0.1:6379";
export const AMQP = "amqp://guest:guest@127.0.0.1:5672";
const PREFETCH = 128;

// ---- raw client libraries ----------------------------------------------------------------------

const raw = {
  async nats(topic) {
    const { connect } = await import("@nats-io/transport-node");
    const nc = await connect({ servers: NATS });
    return {
      publisher: {
        async publish(text) {
          nc.publish(topic, text);
        },
        flush: () => nc.flush(),
        close: () => nc.close(),
      },
      subscribe(onMessage) {
        nc.subscribe(topic, { queue: "bench", callback: (_e, m) => onMessage(m.string()) });
        return nc.flush();
      },
    };
  },
  async jetstream(topic) {
    const { connect } = await import("@nats-io/transport-node");
    const { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } = await import("@nats-io/jetstream");
    const nc = await connect({ servers: NATS });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const stream = `BENCH_${topic.replace(/\W/g, "_")}`;
    await jsm.streams.add({ name: stream, subjects: [topic] }).catch(() => {});
    return {
      publisher: {
        publish: (text) => js.publish(topic, text),
        close: () => nc.close(),
      },
      async subscribe(onMessage) {
        await jsm.consumers.add(stream, {
          durable_name: "bench",
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New,
        });
        const messages = await (await js.consumers.get(stream, "bench")).consume({ max_messages: 256 });
        void (async () => {
          for await (const m of messages) {
            onMessage(m.string());
            m.ack();
          }
        })();
      },
      cleanup: () => jsm.streams.delete(stream).catch(() => {}),
    };
  },
  async redis(topic) {
    const Redis = await ioredis();
    const r = new Redis(REDIS);
    const key = `bench:${topic}`;
    return {
      publisher: {
        publish: (text) => r.call("XADD", key, "MAXLEN", "~", 100000, "*", "b", text),
        close: () => r.quit(),
      },
      async subscribe(onMessage) {
        await r.call("XGROUP", "CREATE", key, "bench", "$", "MKSTREAM");
        const reader = r.duplicate();
        void (async () => {
          for (;;) {
            const res = await reader.call(
              "XREADGROUP",
              "GROUP",
              "bench",
              "c1",
              "COUNT",
              PREFETCH,
              "BLOCK",
              1000,
              "STREAMS",
              key,
              ">",
            );
            const streams = res === null ? [] : typeof res[0] === "string" ? [res] : res;
            for (const [, entries] of streams) {
              for (const [id, fields] of entries) {
                onMessage(fields[1]);
                r.call("XACK", key, "bench", id);
              }
            }
          }
        })().catch(() => {});
      },
      cleanup: () => r.del(key),
    };
  },
  async "redis-pubsub"(topic) {
    const Redis = await ioredis();
    const r = new Redis(REDIS);
    return {
      publisher: { publish: (text) => r.publish(`bench:${topic}`, text), close: () => r.quit() },
      async subscribe(onMessage) {
        const s = r.duplicate();
        s.on("message", (_c, text) => onMessage(text));
        await s.subscribe(`bench:${topic}`);
      },
    };
  },
  async rabbitmq(topic) {
    const { connect } = await amqplib();
    const conn = await connect(AMQP);
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange("bench", "topic", { durable: true });
    const queue = `bench:${topic}`;
    return {
      publisher: {
        publish: (text) =>
          new Promise((resolve, reject) =>
            ch.publish("bench", topic, Buffer.from(text), { persistent: true }, (err) =>
              err ? reject(err) : resolve(),
            ),
          ),
        close: () => conn.close(),
      },
      async subscribe(onMessage) {
        const c = await conn.createChannel();
        await c.prefetch(PREFETCH);
        await c.assertQueue(queue, { durable: true });
        await c.bindQueue(queue, "bench", topic);
        await c.consume(queue, (m) => {
          onMessage(m.content.toString());
          c.ack(m);
        });
      },
      cleanup: () => ch.deleteQueue(queue),
    };
  },
  async http() {
    // node:http both ways, keep-alive: what the tsmicro http broker is built on.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let address;
    return {
      publisher: {
        publish: (text) =>
          new Promise((resolve, reject) => {
            const req = http.request({ ...address, method: "POST", path: "/m", agent }, (res) => {
              res.resume();
              res.on("end", resolve);
            });
            req.on("error", reject);
            req.end(text);
          }),
        close: () => agent.destroy(),
        connectTo: (a) => {
          address = a;
        },
      },
      async subscribe(onMessage) {
        const srv = http.createServer((req, res) => {
          const chunks = [];
          req.on("data", (c) => chunks.push(c));
          req.on("end", () => {
            res.writeHead(202).end();
            onMessage(Buffer.concat(chunks).toString());
          });
        });
        srv.keepAliveTimeout = 65_000;
        await new Promise((r) => srv.listen(0, "127.0.0.1", r));
        return { host: "127.0.0.1", port: srv.address().port };
      },
    };
  },
};

// ---- tsmicro -----------------------------------------------------------------------------------

async function brokerFor(backend, topic) {
  // Backend factories are in tsmicro/plugin (the application entry does not export them).
  const t = await import("tsmicro/plugin");
  switch (backend) {
    case "http":
      return t.createHttpBroker({
        registry: t.createLocalRegistry({ dir: path.join(tmpdir(), `tsmicro-bench-${topic}`) }),
      });
    case "nats":
      return (await import("@tsmicro/nats")).createNatsBroker({ servers: NATS });
    case "jetstream":
      return (await import("@tsmicro/nats")).createJetStreamBroker({ servers: NATS });
    case "redis":
      return (await import("@tsmicro/redis")).createRedisBroker({ url: REDIS, keyPrefix: "bench-tsmicro:" });
    case "redis-pubsub":
      return (await import("@tsmicro/redis")).createRedisPubSubBroker({
        url: REDIS,
        keyPrefix: "bench-tsmicro:",
      });
    case "rabbitmq":
      return (await import("@tsmicro/rabbitmq")).createRabbitBroker({
        url: AMQP,
        exchange: "bench-tsmicro",
        queuePrefix: "bench-tsmicro:",
      });
    default:
      throw new Error(`unknown backend ${backend}`);
  }
}

async function tsmicro(backend, topic) {
  const t = await import("tsmicro");
  const broker = await brokerFor(backend, topic);
  const queue = backend === "redis-pubsub" ? {} : { queue: "bench" };
  return {
    publisher: await (async () => {
      const client = t.newClient({ registry: t.createMemoryRegistry(), broker });
      const ctx = t.background();
      return {
        publish: (text) => client.publish(ctx, t.newMessage(topic, text)),
        close: async () => {
          await client.close();
          await broker.disconnect();
        },
      };
    })(),
    async subscribe(onMessage) {
      const svc = t.newService({ name: `bench-${backend}`, registry: t.createMemoryRegistry(), broker });
      svc.subscribe(topic, (_ctx, text) => onMessage(text), queue);
      await svc.start();
    },
    async cleanup() {
      if (backend === "jetstream") {
        const { connect } = await import("@nats-io/transport-node");
        const { jetstreamManager } = await import("@nats-io/jetstream");
        const nc = await connect({ servers: NATS });
        await (await jetstreamManager(nc)).streams
          .delete((await import("@tsmicro/nats")).defaultStreamName(topic))
          .catch(() => {});
        await nc.close();
      } else if (backend === "redis") {
        const Redis = await ioredis();
        const r = new Redis(REDIS);
        await r.del(`bench-tsmicro:${topic}`);
        await r.quit();
      } else if (backend === "rabbitmq") {
        const { connect } = await amqplib();
        const conn = await connect(AMQP);
        const ch = await conn.createChannel();
        await ch.deleteQueue(`bench-tsmicro:${topic}:bench`);
        await ch.deleteQueue(`bench-tsmicro:${topic}.dlq:kept`);
        await conn.close();
      }
    },
  };
}

export const BACKENDS = ["http", "nats", "jetstream", "redis", "redis-pubsub", "rabbitmq"];

export function open(stack, backend, topic) {
  if (stack === "raw") return raw[backend](topic);
  return tsmicro(backend, topic);
}
