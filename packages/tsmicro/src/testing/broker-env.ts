/**
 * The "present" side of MICRO_BROKER: with the backend package installed, `brokerFromEnv`
 * imports it on first use (a real dynamic `import()`, no injected loader) and the broker
 * works end to end. The "missing" side is tested in the core with an injected loader.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { HEADER } from "../broker/broker.js";
import { brokerFromEnv } from "../broker/env.js";

export function brokerFromEnvTest(
  kind: string,
  options: { address: string; name: RegExp; cleanup?: (topic: string) => Promise<void> },
): void {
  it(`MICRO_BROKER=${kind} with MICRO_BROKER_ADDRESS imports the package on first use and works`, async () => {
    const saved = { kind: process.env.MICRO_BROKER, address: process.env.MICRO_BROKER_ADDRESS };
    process.env.MICRO_BROKER = kind;
    process.env.MICRO_BROKER_ADDRESS = options.address;
    const broker = brokerFromEnv();
    const topic = `env.${kind}.${randomUUID().slice(0, 8)}`;
    try {
      assert.match(broker.name, /not loaded yet/, "nothing imported before first use");
      const got: string[] = [];
      await broker.subscribe(topic, (e) => void got.push(e.message.headers[HEADER.id]!));
      assert.match(broker.name, options.name);
      await broker.publish(topic, { headers: { [HEADER.id]: "e1" }, body: Buffer.from("{}") });
      const end = Date.now() + 10_000;
      while (got.length === 0) {
        if (Date.now() > end)
          throw new Error(`timed out waiting for the message through MICRO_BROKER=${kind}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(got, ["e1"]);
    } finally {
      await broker.disconnect();
      await options.cleanup?.(topic).catch(() => {});
      for (const [k, v] of [
        ["MICRO_BROKER", saved.kind],
        ["MICRO_BROKER_ADDRESS", saved.address],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
}
