// The stream a JetStream broker creates for a topic carries the options as the server reads them.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createJetStreamBroker, defaultStreamName } from "../src/index.js";

const servers = process.env.NATS_URL ?? "127.0.0.1:4222";
const MS = 1_000_000; // nanoseconds

describe("jetstream broker: the stream it creates", { timeout: 30_000 }, () => {
  const topics: string[] = [];
  after(async () => {
    const nc = await connect({ servers });
    const jsm = await jetstreamManager(nc);
    for (const t of topics) await jsm.streams.delete(defaultStreamName(t)).catch(() => {});
    await nc.close();
  });

  async function streamConfigFor(options: Parameters<typeof createJetStreamBroker>[0]) {
    const topic = `tsmicro.test.streamcfg.${randomUUID().slice(0, 8)}`;
    topics.push(topic);
    const broker = createJetStreamBroker({ servers, ...options });
    await broker.connect();
    try {
      await broker.publish(topic, { headers: {}, body: new Uint8Array([1]) });
    } finally {
      await broker.disconnect();
    }
    const nc = await connect({ servers });
    try {
      return (await (await jetstreamManager(nc)).streams.info(defaultStreamName(topic))).config;
    } finally {
      await nc.close();
    }
  }

  it("maxAgeMs Infinity makes a stream with no age limit (max_age 0)", async () => {
    const config = await streamConfigFor({ maxAgeMs: Infinity, duplicateWindowMs: 5000 });
    assert.equal(config.max_age, 0);
    assert.equal(config.duplicate_window, 5000 * MS);
  });

  it("by default: 7 days, and a 2-minute duplicate window", async () => {
    const config = await streamConfigFor({});
    assert.equal(config.max_age, 7 * 24 * 3600_000 * MS);
    assert.equal(config.duplicate_window, 120_000 * MS);
  });

  it("a duplicate window longer than the age limit is capped at it (the server refuses it otherwise)", async () => {
    const config = await streamConfigFor({ maxAgeMs: 1000, duplicateWindowMs: 60_000 });
    assert.equal(config.max_age, 1000 * MS);
    assert.equal(config.duplicate_window, 1000 * MS);
  });
});
