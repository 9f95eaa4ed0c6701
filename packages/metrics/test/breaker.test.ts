/** The breaker gauge: a real failing service on loopback opens its node's breaker, and a scrape shows it. */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createMetrics } from "@tsmicro/metrics";
import {
  background,
  createMemoryRegistry,
  internalServerError,
  newClient,
  newRequest,
  newService,
  withTimeout,
} from "tsmicro";

const registry = createMemoryRegistry();
const broken = newService({ name: "broken", registry, address: "127.0.0.1:0" });
broken.handle(
  new (class Always {
    async fail() {
      throw internalServerError("broken", "always down");
    }
  })(),
);
const fine = newService({ name: "fine", registry, address: "127.0.0.1:0" });
fine.handle(
  new (class Always {
    async ok() {
      return {};
    }
  })(),
);
const client = newClient({ registry, retries: 0, breaker: { minRequests: 3, coolDownMs: 60_000 } });

after(async () => {
  await client.close();
  await broken.stop();
  await fine.stop();
});

test("tsmicro_client_breaker_state is 2 for an open node and 0 for a closed one", async () => {
  await broken.start();
  await fine.start();
  const metrics = createMetrics();
  metrics.observeClient(client, "test");
  const call = (service: string, endpoint: string) =>
    client.call(withTimeout(background(), 5000), newRequest(service, endpoint, {})).catch((e) => e);
  assert.match(await metrics.text(), /# TYPE tsmicro_client_breaker_state gauge/);
  assert.doesNotMatch(await metrics.text(), /^tsmicro_client_breaker_state\{/m, "no series before any call");
  for (let i = 0; i < 3; i++) await call("broken", "Always.fail");
  await call("fine", "Always.ok");
  const text = await metrics.text();
  assert.match(
    text,
    new RegExp(
      `^tsmicro_client_breaker_state\\{client="test",service="broken",node="${broken.nodeId}"\\} 2$`,
      "m",
    ),
  );
  assert.match(
    text,
    new RegExp(
      `^tsmicro_client_breaker_state\\{client="test",service="fine",node="${fine.nodeId}"\\} 0$`,
      "m",
    ),
  );
});
